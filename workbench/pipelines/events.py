"""What a run tells the world as it goes: events handed to listeners (progress, logs, later alerts).

The runner knows nothing about terminals, webhooks or e-mail; it calls each
listener with an :class:`Event`. ``wb run`` adds a progress listener; alerts
(on failure, on a retry, on an overrun) are listeners too. A listener that
raises is logged and ignored: telling about a run must never break it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable, Iterable

log = logging.getLogger("workbench.pipelines")

KINDS = (
    "run_started",       # the lock is held, nothing has run yet
    "attempt_started",   # a step's attempt begins (attempt 1, 2 ...)
    "attempt_finished",  # status succeeded | failed | killed; final=True when the step will not be tried again
    "retry",             # a failed attempt will be tried again after ``seconds``
    "step_skipped",      # a step did not run because a step it depends on failed
    "overrun",           # the run has taken longer than the pipeline's expected_duration_s (once per run)
    "run_finished",      # status succeeded | failed
)


@dataclass(frozen=True)
class Event:
    kind: str
    run_id: str
    pipeline: str
    as_of: dt.date
    step: str | None = None
    attempt: int | None = None
    status: str | None = None
    final: bool = False
    seconds: float | None = None  # the attempt's or run's duration; for a retry, the wait before it
    message: str | None = None  # the error, or why a step was skipped
    archive: str | None = None  # the archived notebook (HTML, else ipynb)


Listener = Callable[[Event], None]


def emit(listeners: Iterable[Listener], event: Event) -> None:
    for listener in listeners:
        try:
            listener(event)
        except Exception:  # a broken listener is logged, never fatal
            log.exception("a listener of pipeline events failed on %s", event.kind)


def log_event(event: Event) -> None:
    """The log line every event gets (warnings for failures, retries and overruns)."""
    where = f"{event.pipeline} {event.as_of} run {event.run_id}" + (f" step {event.step}" if event.step else "")
    bad = event.kind in ("retry", "overrun", "step_skipped") or event.status in ("failed", "killed")
    detail = ", ".join(str(x) for x in (event.status, event.attempt and f"attempt {event.attempt}",
                                         event.seconds is not None and f"{event.seconds:.1f} s", event.message) if x)
    log.log(logging.WARNING if bad else logging.INFO, "%s: %s%s", where, event.kind, f" ({detail})" if detail else "")
