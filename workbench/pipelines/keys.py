"""Reading a YAML mapping key by key, with errors that say which file, which step and which key.

A person edits these files by hand; a typo (``retry:`` for ``retries:``) must
be an error that names it, not a setting that is silently ignored.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable

_REQUIRED = object()
FORMAT_HELP = "see pipelines/README.md for the format"


class PipelineError(ValueError):
    """A pipeline definition (or a run's parameters) that cannot run; the message says what to fix."""


class Reader:
    """One YAML mapping (a pipeline or a step) and where it is, for messages."""

    def __init__(self, where: str, raw: Any, file: str | None = None):
        if not isinstance(raw, dict):
            raise PipelineError(f"{where}: expected a mapping of keys, got {type(raw).__name__}; {FORMAT_HELP}")
        self.file, self.where, self.raw, self.step = file or where, where, raw, ""

    def name_step(self, name: str) -> None:
        """From now on, messages name the step instead of its position."""
        self.step, self.where = name, f"{self.file}, step {name!r}"

    def only(self, *known: str) -> None:
        """PipelineError for the first key not in ``known``, with the nearest known key as a hint."""
        for key in self.raw:
            if key not in known:
                near = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {near[0]!r}?" if near else f"known keys: {', '.join(known)}"
                raise PipelineError(f"{self.where}: unknown key {key!r}; {hint}")

    def _get(self, key: str, default: Any, kinds: type | tuple, what: str) -> Any:
        value = self.raw.get(key, default)
        if value is _REQUIRED:
            raise PipelineError(f"{self.where}: missing key {key!r} ({what}); {FORMAT_HELP}")
        if value is not default and (isinstance(value, bool) or not isinstance(value, kinds)):  # YAML's yes is a bool
            raise PipelineError(f"{self.where}: {key} must be {what}, got {value!r}")
        return value

    def text(self, key: str, default: Any = _REQUIRED, pattern: str | None = None) -> Any:
        value = self._get(key, default, str, "a string")
        if pattern and value is not default and not re.fullmatch(pattern, value):
            raise PipelineError(f"{self.where}: {key} {value!r} may only use the characters {pattern}")
        return value

    def number(self, key: str, default: Any, minimum: float = 0) -> Any:
        what = "a number" if minimum == float("-inf") else f"a number of at least {minimum}"
        value = self._get(key, default, (int, float), what)
        if value is not default and value < minimum:
            raise PipelineError(f"{self.where}: {key} must be at least {minimum}, got {value!r}")
        return value if value is default else float(value)

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self._get(key, default, int, f"a whole number of at least {minimum}")
        if value < minimum:
            raise PipelineError(f"{self.where}: {key} must be at least {minimum}, got {value!r}")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self._get(key, None, dict, "a mapping of name: value") or {}
        return {str(k): v for k, v in value.items()}

    def texts(self, key: str, check: Callable[[str], str | None] | None = None) -> list[str]:
        """A list of strings; ``check`` returns a complaint about one item, or None."""
        values = self._get(key, None, list, "a list of strings") or []
        for value in values:
            problem = f"{value!r} is not a string" if not isinstance(value, str) else check and check(value)
            if problem:
                raise PipelineError(f"{self.where}: {key}: {problem}")
        return values

    def mappings(self, key: str) -> list[dict]:
        values = self._get(key, None, list, "a list of mappings") or []
        if not all(isinstance(v, dict) for v in values):
            raise PipelineError(f"{self.where}: {key} must be a list of mappings (one per item)")
        return values

    def items(self, key: str) -> list["Reader"]:
        """A required list of mappings, each as a Reader named by its position until it names itself."""
        values = self._get(key, _REQUIRED, list, "a list (an empty list [] if none yet)")
        return [Reader(f"{self.where}, step {i}", v, file=self.where) for i, v in enumerate(values, start=1)]
