"""Crash-safe file plumbing shared by the store, the run registry and the planner.

Each writer stages its output under a hidden temporary name that carries its process id, then
moves it into place with one atomic rename. A writer killed before the rename leaves only that
temporary; the next writer removes the ones whose process is gone.

Examples
--------
>>> import os
>>> pid_alive(os.getpid())
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def remove_dead_temporaries(paths: Iterable[Path], pid_of: Callable[[str], int | None]) -> int:
    """Delete the temporaries whose writing process is gone; return how many.

    ``pid_of(name)`` reads the writer's process id from a file name (None: not one of ours).
    This process's own temporaries and those of live processes are kept.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / ".x.999999999.tmp").write_text("partial")
    7
    >>> remove_dead_temporaries(folder.glob(".x.*.tmp"), lambda n: int(n.split(".")[2]))
    1
    """
    removed = 0
    for path in paths:
        pid = pid_of(path.name)
        if pid is None or pid == os.getpid() or pid_alive(pid):
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed
