"""Running per-document work over a process pool, results in input order.

The main process walks and hands out work; workers read the files they are given and scan
them (a small file travels as its path, not its text), in batches so small files do not pay
one round trip each. At most a few batches per worker are in flight,
so memory stays bounded however large the tree, and results are yielded in the order the
inputs came, so the output is identical for any number of workers. Small jobs (a pre-commit
hook's handful of files) never start a pool at all.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from piiscan.interrupts import terminate_as_interrupt

if TYPE_CHECKING:  # imported when a pool starts: a small job never pays for them
    from concurrent.futures import Future

Item = TypeVar("Item")
Result = TypeVar("Result")

IN_FLIGHT_PER_WORKER = 4


class Batching(NamedTuple):
    """How items are cut into batches (the unit a worker runs), and below how much input no
    pool is started, because its start-up would cost more than it saves."""

    items: int = 64
    bytes: int = 512 * 1024
    inline_items: int = 32
    inline_bytes: int = 2 * 1024 * 1024


# Pattern scanning is fast: batches amortise the round trip, small jobs stay in-process.
DEFAULT_BATCHING = Batching()

_worker_function: Callable[[Any], Any] | None = None


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(
    function: Callable[[list[Item]], list[Result]],
    items: Iterable[Item],
    *,
    jobs: int,
    size_of: Callable[[Item], int],
    batching: Batching = DEFAULT_BATCHING,
) -> Iterator[Result]:
    """The results of `function` over batches of `items`, in `jobs` processes, lazily and in
    order. `function` takes a batch and returns one result per item.

    `function` must be picklable for non-fork platforms (a module-level function or a
    `functools.partial` of one, with picklable arguments).
    """
    iterator = iter(items)
    if jobs > 1:
        head, size = [], 0
        for item in iterator:
            head.append(item)
            size += size_of(item)
            if len(head) >= batching.inline_items or size >= batching.inline_bytes:
                yield from _pooled(function, _chain(head, iterator), jobs, size_of, batching)
                return
        iterator = iter(head)
    for batch in _batches(iterator, size_of, batching):
        yield from function(batch)


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def _pooled(function, items: Iterator, jobs: int, size_of, batching: Batching) -> Iterator:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_install, initargs=(function,)
    ) as pool, terminate_as_interrupt():  # so that SIGTERM, too, stops the workers
        try:
            pending: deque[Future] = deque()
            batches = _batches(items, size_of, batching)
            # The workers start as the first batches are submitted (all at the first one with
            # "fork" since Python 3.11, one per submit before).
            with _frozen_while_forking(context.get_start_method() == "fork"):
                for batch in itertools.islice(batches, jobs):
                    pending.append(pool.submit(_run_batch, batch))
            for batch in batches:
                pending.append(pool.submit(_run_batch, batch))
                while len(pending) >= jobs * IN_FLIGHT_PER_WORKER:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BaseException:  # Ctrl-C, SIGTERM, an error, or the caller stopped reading
            # Drop the batches not yet handed to a worker and wait for the others (a batch
            # running when Ctrl-C reached the workers too stops at once): leaving the `with`
            # alone would wait for every batch submitted, as its own shutdown call would
            # undo an earlier request to cancel. Killing the workers would be quicker, but
            # one killed while sending its result leaves half a message in the pipe, which
            # the pool then waits on for ever. A failure here must not hide the first one.
            with contextlib.suppress(Exception):
                pool.shutdown(wait=True, cancel_futures=True)
            raise


@contextlib.contextmanager
def _frozen_while_forking(forking: bool) -> Iterator[None]:
    """Forked workers share the parent's objects until they write to their pages, and a
    garbage collection in a worker that walks them copies those pages (and takes the time to
    walk them). Objects frozen at the fork are never walked in the workers (Python's advice
    for fork without exec). The parent's heap is frozen for the forks only; a caller that
    froze it itself keeps it as it is."""
    if not forking or gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _batches(items: Iterator, size_of, batching: Batching) -> Iterator[list]:
    batch: list = []
    size = 0
    for item in items:
        batch.append(item)
        size += size_of(item)
        if size >= batching.bytes or len(batch) >= batching.items:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _install(function: Callable[[Any], Any]) -> None:
    # Each worker keeps the function (and the engine it closes over) for its whole life:
    # with "fork" it is inherited, with "spawn" unpickled once, not once per batch.
    global _worker_function
    _worker_function = function
    # Ctrl-C reaches the whole process group. Between batches a worker ignores it (Python
    # would print a traceback from inside the pool's code, and the main process stops the
    # pool); SIGTERM ends it as it would any process, not as the interrupt it inherited.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_batch(batch: list) -> list:
    assert _worker_function is not None
    # During a batch, Ctrl-C stops it: the KeyboardInterrupt goes back as its result.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return _worker_function(batch)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
