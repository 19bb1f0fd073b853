"""A camera worker ends when the process that started it is gone.

`fallwatch serve` killed with `kill -9` (or crashing) cannot stop its workers; without
this they would keep analysing, unseen, for ever (re-parented to init). Two checks, as
long-running servers do:

- Linux: `prctl(PR_SET_PDEATHSIG)` asks the kernel for a signal the moment the parent
  dies. The kernel sends it when the *thread* that started the worker ends (the
  supervisor's monitor thread, at shutdown), so the handler exits only if the parent
  really is gone, and the signal is one of ours (SIGUSR1), not the SIGTERM the supervisor
  uses to end a worker.
- Everywhere: a daemon thread compares `os.getppid()` with the parent's pid every
  `poll_s` (covers the moment before prctl, other systems, and a failed prctl).

The worker then leaves with `os._exit`: nobody reads its queue any more, and a normal
exit would wait for the queue's feeder thread to flush into a pipe nobody drains.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
PARENT_DEATH_SIGNAL = signal.SIGUSR1
EXIT_PARENT_GONE = 0


def parent_gone(parent_pid: int) -> bool:
    return os.getppid() != parent_pid


def _leave(parent_pid: int, how: str) -> None:
    log.warning("the server process (pid %d) is gone (%s): worker exiting", parent_pid, how)
    for handler in logging.getLogger().handlers:
        handler.flush()
    os._exit(EXIT_PARENT_GONE)


def _set_pdeathsig(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def watch_parent(parent_pid: int | None, poll_s: float = 0.5) -> None:
    """End this process as soon as `parent_pid` is no longer its parent.

    Call it first thing in the worker process, from the main thread (signal handlers
    can only be installed there). None: no parent to watch (a worker run in-process).
    """
    if parent_pid is None:
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if parent_gone(parent_pid):
            _leave(parent_pid, "kernel parent-death signal")
        # Else the thread that spawned us ended, not the process: carry on.

    signal.signal(PARENT_DEATH_SIGNAL, on_signal)
    _set_pdeathsig(PARENT_DEATH_SIGNAL)
    if parent_gone(parent_pid):  # died before prctl took effect
        _leave(parent_pid, "gone at start")

    def poll() -> None:
        while True:
            if parent_gone(parent_pid):
                _leave(parent_pid, "parent pid changed")
            time.sleep(poll_s)

    threading.Thread(target=poll, name="parent-watch", daemon=True).start()
