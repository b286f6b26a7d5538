"""SIGTERM during a local run takes the Ctrl-C path.

Python's default answer to SIGTERM is to die on the spot: Inspect's log would stay
``started`` with only the samples it had flushed, and nothing would say why. While a run
is in progress SIGTERM instead does what the first Ctrl-C does: the current SIGINT
handler is called (inside ``inspect_ai.eval()`` that is the event loop's, which cancels
the run so Inspect writes a ``cancelled`` log holding every sample completed so far;
elsewhere it raises KeyboardInterrupt). The command then exits with
:data:`EXIT_TERMINATED` (143, 128 + SIGTERM) instead of 130, so a supervisor can tell a
stop it asked for from a Ctrl-C. A second signal, as with Ctrl-C, stops at once.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from run_eval.runner.errors import EXIT_INTERRUPTED, EXIT_TERMINATED

_received: int | None = None  # the signal that stopped the run, once one has


def received() -> int | None:
    return _received


def exit_code() -> int:
    """The exit status of an interrupted command: 143 after SIGTERM, else 130."""
    return EXIT_TERMINATED if _received == signal.SIGTERM else EXIT_INTERRUPTED


def describe() -> str:
    return "terminated (SIGTERM)" if _received == signal.SIGTERM else "interrupted"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """For the duration of the block, SIGTERM is handled as Ctrl-C (see the module doc)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def on_sigterm(signum: int, frame: object) -> None:
        global _received
        _received = signum
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):  # the event loop's (cancel the run) or Python's (KeyboardInterrupt)
            handler(signal.SIGINT, frame)
        else:  # SIGINT ignored or default (e.g. a background job of a script): stop anyway
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
