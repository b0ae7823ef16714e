"""The add-one search in two processes: this one and one forked child, each searching chunks
of budgets with its own copy of the one-process search (search.py).

Only callers that ask for it get it (``rules.run(..., parallel=True)``: closing a round, the
command line); a page view never forks. It needs POSIX (fork, record locks); ``cpus`` says 1
where it cannot be used safely, and the search then stays in one process.

The budgets from some x on are cut into consecutive chunks, claimed in turn by this process and
one forked child (whichever is free takes the next chunk), each searching its chunk with its
own copy of the search (search.Scan, passed in as a ``Search``). The first qualifying budget
found (``event``) is shared; a process stops searching budgets beyond it and takes no chunk
that starts after it. When neither takes a new chunk, every budget before the event has been
searched and found not to qualify: the event is the first qualifying budget, as in the
sequential loop. Shared state: a few int64 in an anonymous shared mapping, under a POSIX record
lock (released by the kernel if a process dies).

Safe in a web worker: the child only computes (everything it uses is imported and built
before the fork: no imports, no logging, no I/O but its error pipe), never returns into the
caller's code (os._exit, so no atexit handlers, no flushed buffers, no closed connections) and
is always reaped before scan_parallel returns or raises.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
import struct
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: the add-one search stays sequential
    fcntl = None  # type: ignore[assignment]  # mypy checks as on POSIX, where it is a module

SOLO = 0.05  # seconds of searching in one process before the search is split
CHUNK_TIME = 0.05  # aimed-at seconds of searching per chunk, at least
CHUNK_SHARE = 0.05  # and at most this share of the time the split search has taken so far
_NONE = 2**62  # no event found yet
_SLOT_NEXT, _SLOT_EVENT, _SLOT_OVER = 0, 1, 2

#: the one-process search of a chunk (search.Scan.search): the budgets from the first argument
#: on, up to the end that the second gives (asked before every run); the first budget that
#: ends the add-one loop and whether its outcome is over the budget (then the runs at it and
#: before it), or None when no budget up to the end does
Search = Callable[[int, Callable[[], int]], tuple[int, bool, object, object] | None]


def cpus() -> int:
    """The CPUs this process may use for the search: 1 where fork or the affinity call is
    missing, where children are reaped automatically (SIGCHLD ignored: their exit status
    would be lost), or where other Python threads run (a threaded server: a child forked
    while one of them holds a lock could hang on it)."""
    if fcntl is None or not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"):
        return 1
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN or threading.active_count() > 1:
        return 1
    return len(os.sched_getaffinity(0))


class Shared:
    """int64 slots shared between this process and its forked child, and a lock over them."""

    def __init__(self, slots: int) -> None:
        self._map = mmap.mmap(-1, 8 * slots)  # anonymous and shared: inherited by the child
        self._lockfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()

    def __enter__(self) -> Shared:
        fcntl.lockf(self._lockfile, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.lockf(self._lockfile, fcntl.LOCK_UN)

    def __getitem__(self, i: int) -> int:
        value: int = struct.unpack_from("q", self._map, 8 * i)[0]
        return value

    def __setitem__(self, i: int, value: int) -> None:
        struct.pack_into("q", self._map, 8 * i, value)

    def close(self) -> None:
        self._map.close()
        self._lockfile.close()


def scan_parallel(search: Search, unit: int, first: int, size: int) -> tuple[int, bool]:
    """The first qualifying budget from ``first`` on (budgets ``unit`` apart) and whether it is
    ``over``, searched by this process and a forked child, in chunks of ``size`` budgets at
    first. The child never returns into the caller's code: it ends with os._exit; its failure
    raises here (with its traceback), and an exception here kills and reaps it."""
    shared = Shared(3)
    shared[_SLOT_NEXT] = first
    shared[_SLOT_EVENT] = _NONE
    err_r, err_w = os.pipe()
    pid = -1
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork in a process with threads; the only ones here are
            # native (numpy's BLAS), which the child never calls: it only computes and writes
            # to the shared map
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                os.close(err_r)
                _work(search, shared, unit, size)
                code = 0
            except BaseException:
                with contextlib.suppress(BaseException):  # the exit code tells anyway
                    os.write(err_w, traceback.format_exc()[-8000:].encode())
            finally:
                os._exit(code)
        os.close(err_w)
        err_w = -1
        _work(search, shared, unit, size)
        _, status = os.waitpid(pid, 0)
        pid = -1
        if status != 0:
            with os.fdopen(err_r, "rb", closefd=False) as f:
                message = f.read().decode(errors="replace")
            raise RuntimeError(f"the add-one search in a second process failed:\n{message}")
        with shared:
            event, over = shared[_SLOT_EVENT], shared[_SLOT_OVER]
        assert event != _NONE, "the add-one search ended without a qualifying budget"
        return event, bool(over)
    finally:
        if pid > 0:  # something went wrong here: the child's work is of no use
            try:
                os.kill(pid, signal.SIGKILL)
            finally:
                os.waitpid(pid, 0)
        os.close(err_r)
        if err_w >= 0:
            os.close(err_w)
        shared.close()


def _work(search: Search, shared: Shared, unit: int, size: int) -> None:
    """One process's part of the parallel search: claim chunks (of ``size`` budgets at first,
    then adapted to take about CHUNK_TIME, or CHUNK_SHARE of the time so far: the longer the
    search, the fewer restarts of the skipping in search.Scan) and search them until the next chunk
    would start after the event found. At the end one process may wait for the other's chunk:
    about one chunk's time."""
    began = time.perf_counter()
    while True:
        with shared:
            start = shared[_SLOT_NEXT]
            if start >= shared[_SLOT_EVENT]:
                return
            shared[_SLOT_NEXT] = start + size * unit
        last = start + (size - 1) * unit

        def end(last: int = last) -> int:
            with shared:
                return min(last, shared[_SLOT_EVENT] - unit)

        chunk_began = time.perf_counter()
        found = search(start, end)
        if found is not None:
            x, over = found[0], found[1]
            with shared:
                if x < shared[_SLOT_EVENT]:
                    shared[_SLOT_EVENT] = x
                    shared[_SLOT_OVER] = int(over)
            return
        now = time.perf_counter()
        aim = max(CHUNK_TIME, CHUNK_SHARE * (now - began))
        size = max(1, min(4 * size, round(size * aim / max(now - chunk_began, 1e-6))))
