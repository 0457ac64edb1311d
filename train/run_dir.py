"""A run directory's bookkeeping: one trainer at a time, and TensorBoard logs that match the checkpoint.

``lock_run_dir`` takes an exclusive ``flock`` on ``RUN_DIR/.lock`` for as long as the process lives;
the kernel drops it when the process ends, however it ends (``kill -9`` included), so a stale lock
never blocks a resume. ``tensorboard_offsets`` records, when a checkpoint is written, how far each
event file reached; on resume ``rewind_tensorboard`` cuts the files back to those offsets and removes
the ones written after it, so every point is logged exactly once: those up to the checkpoint from
the interrupted run, the rest from the resumed one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_NAME = ".lock"
#: TensorBoard's event files: ``events.out.tfevents.<time>.<host>.<pid>.<n>``.
EVENTS_GLOB = "events.out.tfevents.*"


class RunDirBusy(Exception):
    """Another process holds the run directory."""


def lock_run_dir(run_dir: Path) -> IO[str]:
    """Take the run directory for this process; the open lock file (keep it: closing it unlocks).

    ``RunDirBusy`` (saying which process holds it) if another process has it.
    """
    handle = open(run_dir / LOCK_NAME, "a+")  # noqa: SIM115 (held for the process's lifetime)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise RunDirBusy(f"run directory {run_dir} is in use by another trainer (pid {holder})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def tensorboard_offsets(run_dir: Path) -> dict[str, int]:
    """The size of each TensorBoard event file in ``run_dir`` (flush the writer first)."""
    return {path.name: path.stat().st_size for path in sorted(run_dir.glob(EVENTS_GLOB))}


def rewind_tensorboard(run_dir: Path, offsets: dict[str, int]) -> None:
    """Cut the event files back to ``offsets`` (from ``tensorboard_offsets``) and remove those
    written after it: the logs then end exactly where the checkpoint was written."""
    for path in run_dir.glob(EVENTS_GLOB):
        size = offsets.get(path.name)
        if size is None:
            path.unlink()
        elif path.stat().st_size > size:
            os.truncate(path, size)
