"""Named points where a run waits for the test that asked it to: deterministic interruptions.

A test that must interrupt a run at a precise moment (Ctrl-C while a model trains, a
power cut while a figure is saved) cannot guess the moment from the clock: a faster or
busier machine would win or lose the race. Instead it listens on a Unix socket and starts
the run with DIGITS_PAUSE_AT="NAME@SOCKET" in its environment. When the run reaches
`pause_here(NAME)`, it connects, says NAME, and waits for the test's answer; the test
interrupts it there, or closes the connection to let it go on. In every normal run the
variable is unset and `pause_here` returns at once.

The points: "training" (after the first batch), "epoch end" (after the first epoch's
checkpoint is written), and "writing NAME" (an artifact written to its temporary file,
not yet renamed onto NAME).
"""

from __future__ import annotations

import contextlib
import os
import socket

ENV = "DIGITS_PAUSE_AT"
WAIT_LIMIT = 1800.0
"""Seconds a paused run waits for the test's answer before going on by itself."""

_passed: set[str] = set()


def requested() -> str:
    """The point a test asked this run to pause at, or ""."""
    return os.environ.get(ENV, "").partition("@")[0]


def pause_here(name: str) -> None:
    """Wait at point `name` until the test that asked for it answers; return at once otherwise.

    Each request pauses once: a point reached again runs on.
    """
    wanted = os.environ.get(ENV, "")
    point, _, address = wanted.partition("@")
    if point != name or not address or wanted in _passed:
        return
    _passed.add(wanted)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(WAIT_LIMIT)
        connection.connect(address)
        connection.sendall(f"{name}\n".encode())
        with contextlib.suppress(TimeoutError):
            connection.recv(1)  # the test's answer, or end of file when it lets go
