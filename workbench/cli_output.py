"""What every ``wb`` command shares: one-line refusals, and rows printed as a table, CSV or JSON.

A refusal (no grant, bad SQL, a bad file) is expected, not a crash: it
prints ``error: <what to do next>`` on one line and exits with code 2, never a
traceback, because the person at the keyboard is a merchandiser or a
manager as often as a developer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import sys
from typing import Any

import click


class Refused(click.ClickException):
    """A one-line refusal with exit code 2."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(str(message).replace("\n", " "))

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def plain(value: Any) -> Any:
    """A JSON / CSV friendly value: ISO dates and times, NaN as null."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def shown(value: Any) -> str:
    """A table cell: amounts with separators, small shares with four decimals; integers as they are (they are often ids)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return str(plain(value))


def print_rows(rows: list[dict[str, Any]], columns: list[str] | None, fmt: str = "table", title: str | None = None) -> None:
    """Print ``rows`` (dicts) as ``table`` (rich), ``csv`` or ``json``; ``columns=None`` means all, in order."""
    columns = list(columns) if columns else (list(rows[0]) if rows else [])
    if fmt == "json":
        click.echo(json.dumps([{c: plain(r[c]) for c in columns} for r in rows], ensure_ascii=False, indent=1, default=str))
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(columns)
        writer.writerows([plain(r[c]) for c in columns] for r in rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for col in columns:
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(*(shown(r[c]) for c in columns))
        # Piped or captured output gets a wide console, so names are not folded mid-word.
        Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200).print(table)


def refusing(*errors: type[BaseException]):
    """A decorator for a command: ``errors`` (expected failures) become a one-line :class:`Refused`."""
    import functools

    def wrap(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except errors as err:
                raise Refused(str(err).strip() or type(err).__name__) from None
        return run
    return wrap
