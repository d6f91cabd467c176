"""Sharing the machine's cores between nnci commands that run at the same time.

Each nnci command that computes takes all cores by default (BLAS and the compiled kernels), and their threads
spin while they wait; two such commands on 2 cores then fight over 4 spinning threads and each runs several
times slower than alone. So every command notes itself in a small registry (one empty file per process, named
by its pid, in a folder of the user's temporary directory), and a command started without --threads takes
cores // (commands running, itself included) threads. Entries of processes that ended are ignored and removed.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def registry() -> Path:
    """The folder of running nnci commands (NNCI_RUNTIME_DIR, else nnci-<uid> in the temporary directory)."""
    base = os.environ.get("NNCI_RUNTIME_DIR")
    if base:
        return Path(base)
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"nnci-{user}" / "running"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells, else all)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _alive(pid: int) -> bool:
    """The process runs and, where /proc tells, is an nnci command (not a later process given a reused pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process holds the pid now
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here: trust the pid
    return any(os.path.basename(arg) in (b"nnci", b"nnci_command.py") or arg == b"nnci.cli" for arg in argv)


def running_commands() -> list[int]:
    """Pids of the nnci commands that are running now (stale entries are removed)."""
    folder, pids = registry(), []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == os.getpid() or _alive(pid):
            pids.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return sorted(pids)


def register() -> Path | None:
    """Note this process as a running nnci command; the entry to remove at exit (None if it cannot be written)."""
    folder = registry()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        entry = folder / str(os.getpid())
        entry.touch()
        return entry
    except OSError:
        return None


def unregister(entry: Path | None) -> None:
    if entry is not None:
        entry.unlink(missing_ok=True)


resharer: Callable[[], None] | None = None  # set by the CLI when it chose the threads from the registry


def reshare() -> None:
    """Count the running commands again and take this process's share of the cores, if the CLI chose its threads
    that way (no --threads, not training). Called between the work items of `run` commands: two commands started
    together may both have counted before the other registered."""
    if resharer is not None:
        resharer()


def fair_share(cores: int, commands: int) -> int:
    """threads = max(1, cores // commands): the cores split evenly between the commands running."""
    return max(1, cores // max(1, commands))
