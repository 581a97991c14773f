"""Progress lines for the terminal that runs the course.

`make all` runs each notebook through `helpers.course`, which listens for lines on a
Unix datagram socket named by $DIGITS_PROGRESS. `say(line)`, called in the notebook's
kernel, sends one there (an epoch's figures, the confidence threshold), so the terminal
shows what a long cell is doing while the notebook keeps its own output. In a notebook
opened by hand the variable is unset and `say` does nothing; so it is where Python has no
Unix sockets (Windows outside WSL), where the course runs without these lines.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from tqdm import tqdm

T = TypeVar("T")

ENV = "DIGITS_PROGRESS"
"""The environment variable holding the listening socket's path."""
MAX_BYTES = 4096
"""A line longer than this is cut: one datagram each."""


def available() -> bool:
    """Whether this Python has the Unix sockets the progress lines travel on."""
    return hasattr(socket, "AF_UNIX")


def say(line: str) -> None:
    """Send one line to the terminal that runs the course, if one listens; never fail."""
    address = os.environ.get(ENV)
    if not address or not available():
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.sendto(line.encode("utf-8", "replace")[:MAX_BYTES], address)


def progress_bar(iterable: Iterable[T] | None = None, **options: Any) -> tqdm[T]:
    """A tqdm bar (`tqdm.auto`: a widget in a notebook) for someone watching the notebook. Under
    `make all`, where a terminal listens for progress lines, it draws nothing: the saved notebook
    would keep a bar frozen at 0%."""
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=bool(os.environ.get(ENV)), **options)


@contextlib.contextmanager
def listening(address: str, show: Callable[[str], None]) -> Iterator[None]:
    """Bind `address` and call `show(line)` for each line `say` sends, until the block ends
    (where Unix sockets are not `available()`, nothing is sent and nothing listens)."""
    if not available():
        yield
        return
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)

    def pump() -> None:
        while True:
            data = receiver.recv(MAX_BYTES)
            if not data:  # the empty datagram sent below: stop
                return
            show(data.decode("utf-8", "replace"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as closer:
            closer.sendto(b"", address)
        thread.join()
        receiver.close()
        with contextlib.suppress(OSError):
            os.unlink(address)
