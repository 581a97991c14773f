"""Run a module as a command line and record its peak resident memory.

`python -m benchmarks.peak_memory OUT.json MODULE ARG...` runs `python -m MODULE ARG...`
in this process, then writes {"exit_code", "peak_rss_mb"} to OUT.json. On Linux the peak is
VmHWM for this process's own memory: unlike `ru_maxrss` of a child, it does not inherit the
memory of the parent that started it. Elsewhere it is the system's own peak figure.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's high-water resident memory, in MB."""
    if sys.platform == "linux":
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        raise OSError("no VmHWM in /proc/self/status")
    if sys.platform == "win32":
        import psutil

        return round(psutil.Process().memory_info().peak_wset / 2**20, 1)
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 1)  # bytes on macOS


def main(argv: list[str]) -> int:
    """Run the module named by argv[1] with the remaining arguments; record exit code and peak."""
    out, module, *args = argv
    sys.argv = [module, *args]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    Path(out).write_text(json.dumps({"exit_code": code, "peak_rss_mb": peak_rss_mb()}))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
