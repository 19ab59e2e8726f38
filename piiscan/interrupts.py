"""SIGTERM taken as Ctrl-C while cleaning up matters.

SIGTERM (a cancelled CI job, `kill`) ends a Python process without running its `finally`
blocks: a file being rewritten would leave its temp file behind, and a scan would leave its
worker processes running on. Inside `terminate_as_interrupt()` it is raised as
KeyboardInterrupt instead, which the code already cleans up after and the CLI reports as
"interrupted" (exit 130).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt in the main thread while inside. Python takes
    handlers in the main thread only; a library caller in another thread keeps its own."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
