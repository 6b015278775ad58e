"""Business days as the user writes them: ``2025-11-30`` on the command line, in a notebook parameter, in a file.

One parser, so every command refuses a bad date with the same words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def parse_day(value: Any) -> dt.date:
    """A date from ``2025-11-30``, a date or a timestamp; ValueError saying how to write it otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"as-of date {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2025-11-30") from None
