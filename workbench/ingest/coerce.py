"""Turn one text column into typed values plus the problems found, vectorised.

Every function here takes Arrow arrays and returns Arrow arrays: no Python
loop over rows, so a million-row file types in well under a second per
column. A problem is an ``Issue``: a mask of failing rows and a message per
failing row in words a store clerk can act on (``qty: 'abc' is not an integer``).

Speed comes from doing the common case cheaply and the rare case properly:

- a column with few distinct values (store codes, prices, methods) is
  checked once per distinct value, then mapped back to the rows;
- numbers and date-times in their plain spelling (``12.50``,
  ``2024-03-01 10:00:00``) are parsed without regular expressions; only the
  rest (``1,299.00``, ``2024/3/1 9:05``, ``2024年3月1日``, garbage) goes
  through the general, regex-based parser.

Arrow's own ``strptime`` is lenient (it reads 2024-02-30 as 2024-03-01), so a
parsed date-time is kept only if its parts equal the parts as written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from workbench.ingest.contracts import ColumnRule

_SHOWN = 40  # characters of a bad value quoted in a message
_SAMPLE = 10_000  # rows looked at to guess whether a column has few distinct values

_INTEGER = r"^[+-]?(\d{1,18}|\d{1,3}(,\d{3}){1,5})(\.0*)?$"
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+|\d{1,3}(,\d{3})+(\.\d*)?)$"  # no exponents: no POS writes 1e3
_DATE_TIME = (
    r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?$"
)


@dataclass(frozen=True)
class Issue:
    """Rows that break one rule.

    Messages are written only when asked for, for the rows asked for: bad rows
    are a few percent, and building a million strings to keep thirty thousand
    would be most of the work. A message is ``prefix + value + suffix`` with
    the value taken from ``text`` (through ``index`` when ``text`` holds one
    entry per distinct value or per failing row), or ``prefix`` alone.
    """

    rule: str  # the rule in words, without the value: used to count problems by kind
    mask: pa.BooleanArray
    prefix: str
    suffix: str = ""
    text: pa.Array | None = None
    index: pa.Array | None = None  # row -> position in ``text``; None: the same position
    quoted: bool = True  # False: ``text`` holds finished messages (cross-field checks)

    def messages(self, rows: pa.Array) -> pa.Array:
        """The message of each of ``rows`` (positions), null where that row does not break this rule."""
        failing = self.mask.take(rows)
        if self.text is None:
            return pc.if_else(failing, pa.scalar(self.prefix), pa.scalar(None, pa.string()))
        values = self.text.take(rows if self.index is None else self.index.take(rows))
        if self.quoted:
            values = pc.binary_join_element_wise(pa.scalar(self.prefix), shown(values), pa.scalar(self.suffix), "")
        return _null_if(pc.invert(failing), values)

    def for_rows(self, rows: pa.Array) -> Issue:
        """This issue, found on distinct values, spread over the rows (``rows``: row -> distinct value)."""
        index = rows if self.index is None else self.index.take(rows)
        return replace(self, mask=self.mask.take(rows), index=index)


@dataclass(frozen=True)
class Coerced:
    values: pa.Array
    issues: list[Issue]

    @property
    def failed(self) -> pa.BooleanArray | None:
        """Rows where this column broke any of its rules (None: no row did)."""
        if not self.issues:
            return None
        mask = self.issues[0].mask
        for f in self.issues[1:]:
            mask = pc.or_(mask, f.mask)
        return mask


def _null_if(mask: pa.Array, values: pa.Array) -> pa.Array:
    return pc.if_else(mask, pa.scalar(None, values.type), values)


def shown(text: pa.Array) -> pa.Array:
    """A value as quoted in messages: cut short so a garbage cell cannot flood the quarantine."""
    long = pc.greater(pc.utf8_length(text), _SHOWN)
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, _SHOWN - 1), "…", "")
    return pc.if_else(long, cut, text)


def issue(column: str, problem: str, mask: pa.Array, text: pa.Array | None = None) -> Issue | None:
    """``column: 'value' problem`` (or ``column problem`` without a value) where ``mask``;
    None when no row fails, so the common case costs one ``any``."""
    mask = pc.fill_null(mask, False)
    if not pc.any(mask).as_py():
        return None
    if text is None:
        return Issue(f"{column} {problem}", mask, f"{column} {problem}")
    return Issue(f"{column}: {problem}", mask, f"{column}: '", f"' {problem}", text)


def clean(text: pa.Array, null_values: tuple[str, ...]) -> pa.Array:
    """Trim spaces (also full-width ones) and turn the contract's "no value" texts into nulls."""
    trimmed = pc.utf8_trim(text, " \t\r\n\u3000\u00a0")
    if null_values:
        trimmed = _null_if(pc.is_in(trimmed, pa.array(list(null_values), pa.string())), trimmed)
    return trimmed


# --- parsing per type -------------------------------------------------------------


def _or_else(text: pa.Array, values: pa.Array, general: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Where the fast parse found nothing in a non-empty cell, try ``general`` on just those cells."""
    rest = pc.and_(pc.is_valid(text), pc.is_null(values))
    if not pc.any(rest).as_py():
        return values
    return pc.replace_with_mask(values, rest, general(pc.filter(text, rest)).cast(values.type))


def _unsigned(text: pa.Array) -> pa.Array:
    return pc.if_else(pc.starts_with(text, "-"), pc.utf8_slice_codeunits(text, 1, 1 << 20), text)


def parse_integer(text: pa.Array) -> pa.Array:
    """'12', '-3', and (slower) '+12', '1,200', Excel's '12.0' -> int64; anything else -> null."""
    plain = pc.and_(pc.ascii_is_decimal(_unsigned(text)), pc.less_equal(pc.utf8_length(text), 18))
    fast = pc.cast(_null_if(pc.invert(pc.fill_null(plain, False)), text), pa.int64())

    def general(rest: pa.Array) -> pa.Array:
        ok = pc.match_substring_regex(rest, _INTEGER)
        return pc.cast(pc.replace_substring_regex(_null_if(pc.invert(ok), rest), r"[,+]|\.0*$", ""), pa.int64())

    return _or_else(text, fast, general)


def parse_number(text: pa.Array) -> pa.Array:
    """'12.5', '-0.25', and (slower) '1,299.00', '+3' -> float64; 'NaN', 'inf', '12,5', '1e3' -> null."""
    digits = pc.replace_substring(_unsigned(text), ".", "", max_replacements=1)
    plain = pc.and_(pc.ascii_is_decimal(digits), pc.less_equal(pc.utf8_length(text), 30))
    fast = pc.cast(_null_if(pc.invert(pc.fill_null(plain, False)), text), pa.float64())

    def general(rest: pa.Array) -> pa.Array:
        ok = pc.match_substring_regex(rest, _NUMBER)
        return pc.cast(pc.replace_substring(_null_if(pc.invert(ok), rest), ",", ""), pa.float64())

    return _or_else(text, fast, general)


def _same_parts(parsed: pa.Array, parts: list[tuple[Callable, pa.Array]]) -> pa.Array:
    """True where every calendar part of ``parsed`` equals the number written (a rolled-over date fails)."""
    ok = pc.is_valid(parsed)
    for extract, written in parts:
        number = pc.cast(_null_if(pc.invert(pc.ascii_is_decimal(written)), written), pa.int64())
        ok = pc.and_(ok, pc.fill_null(pc.equal(extract(parsed), number), False))
    return ok


_PARTS = ((pc.year, 0, 4), (pc.month, 5, 2), (pc.day, 8, 2), (pc.hour, 11, 2), (pc.minute, 14, 2), (pc.second, 17, 2))


def _parse_canonical(text: pa.Array, date_only: bool) -> pa.Array:
    """Exactly 'YYYY-MM-DD HH:MM:SS' (or 'YYYY-MM-DD'): no regex, the common case of every export."""
    fmt, width = ("%Y-%m-%d", 10) if date_only else ("%Y-%m-%d %H:%M:%S", 19)
    exact = pc.fill_null(pc.equal(pc.utf8_length(text), width), False)
    parsed = pc.strptime(_null_if(pc.invert(exact), text), fmt, "s", error_is_null=True)
    # strptime range-checks every field but the day (1-31 in any month) and the
    # second (up to 61): those two are where a rollover can hide.
    checked = (_PARTS[2],) if date_only else (_PARTS[2], _PARTS[5])
    parts = [(extract, pc.utf8_slice_codeunits(text, start, start + size)) for extract, start, size in checked]
    parsed = _null_if(pc.invert(_same_parts(parsed, parts)), parsed)
    return pc.cast(parsed, pa.date32() if date_only else pa.timestamp("us"))


def _chinese_to_iso(text: pa.Array) -> pa.Array:
    """2024年3月1日 -> 2024-3-1, and 20240301 -> 2024-03-01, so one pattern reads them all."""
    text = pc.replace_substring_regex(text, r"^(\d{4})年(\d{1,2})月(\d{1,2})日", r"\1-\2-\3")
    return pc.replace_substring_regex(text, r"^(\d{4})(\d{2})(\d{2})(\s|$)", r"\1-\2-\3\4")


def _pad(part: pa.Array, default: str) -> pa.Array:
    part = pc.if_else(pc.equal(pc.utf8_length(part), 0), pa.scalar(default), part)
    return pc.utf8_lpad(part, 2, "0")


def _parse_general(text: pa.Array, date_only: bool) -> pa.Array:
    """'2024/3/1 9:05', '2024-03-01T10:00:00.5', '2024年3月1日', '20240301'; dates may carry a midnight time."""
    parts = pc.extract_regex(_chinese_to_iso(text), _DATE_TIME)
    field = {name: pc.struct_field(parts, name) for name in ("y", "m", "d", "H", "M", "S", "f")}
    padded = {name: _pad(field[name], "00") for name in ("m", "d", "H", "M", "S")}
    iso = pc.binary_join_element_wise(
        field["y"], "-", padded["m"], "-", padded["d"], " ", padded["H"], ":", padded["M"], ":", padded["S"], "",
    )
    whole = pc.strptime(iso, "%Y-%m-%d %H:%M:%S", "s", error_is_null=True)
    written = [field["y"], padded["m"], padded["d"], padded["H"], padded["M"], padded["S"]]
    whole = _null_if(pc.invert(_same_parts(whole, [(extract, w) for (extract, _, _), w in zip(_PARTS, written)])), whole)
    fraction = pc.utf8_slice_codeunits(pc.utf8_rpad(field["f"], 6, "0"), 0, 6)
    micros = pc.cast(pc.if_else(pc.equal(pc.utf8_length(field["f"]), 0), pa.scalar("0"), fraction), pa.int64())
    if date_only:
        midnight = pc.equal(micros, 0)
        for extract in (pc.hour, pc.minute, pc.second):
            midnight = pc.and_(midnight, pc.equal(extract(whole), 0))
        return pc.cast(_null_if(pc.invert(pc.fill_null(midnight, False)), whole), pa.date32())
    return pc.add(pc.cast(whole, pa.timestamp("us")), pc.cast(micros, pa.duration("us")))


def parse_timestamp(text: pa.Array, *, date_only: bool = False) -> pa.Array:
    """Date-times as POS systems write them -> timestamp[us] (date32 with ``date_only``); impossible
    dates (Feb 30, 25:00) -> null. A date column accepts a midnight time ('2024-03-01 00:00:00')
    because Excel and ERP exports write dates that way."""
    return _or_else(text, _parse_canonical(text, date_only), lambda rest: _parse_general(rest, date_only))


# --- one column ---------------------------------------------------------------------

_TYPE_PROBLEM = {
    "integer": "is not an integer",
    "number": "is not a number",
    "date": "is not a date (write it as YYYY-MM-DD)",
    "timestamp": "is not a date and time (write it as YYYY-MM-DD HH:MM:SS)",
}


def _parse(rule: ColumnRule, text: pa.Array) -> pa.Array:
    if rule.type == "integer":
        return parse_integer(text)
    if rule.type == "number":
        return parse_number(text)
    if rule.type == "date":
        return parse_timestamp(text, date_only=True)
    if rule.type == "timestamp":
        return parse_timestamp(text)
    return text


def _normalize(rule: ColumnRule, values: pa.Array) -> pa.Array:
    if rule.normalize == "upper":
        return pc.utf8_upper(values)
    if rule.normalize == "lower":
        return pc.utf8_lower(values)
    return values


def _bound_scalar(rule: ColumnRule, bound, today: dt.date, *, upper: bool) -> tuple[pa.Scalar, str]:
    """A bound as an Arrow scalar of the column's type, and how it reads in a message."""
    if rule.type in ("integer", "number"):
        return pa.scalar(bound, rule.arrow_type), str(bound)
    day = today if bound == "today" else bound
    label = f"today ({today})" if bound == "today" else str(bound)
    if rule.type == "date":
        return pa.scalar(day, pa.date32()), label
    # A date bound on a timestamp covers the whole day.
    moment = dt.datetime.combine(day + dt.timedelta(days=1) if upper else day, dt.time(0))
    return pa.scalar(moment, pa.timestamp("us")), label


def _range_issues(rule: ColumnRule, values: pa.Array, text: pa.Array, today: dt.date) -> list[Issue | None]:
    found: list[Issue | None] = []
    when = rule.type in ("date", "timestamp")
    if rule.min is not None:
        low, label = _bound_scalar(rule, rule.min, today, upper=False)
        found.append(issue(rule.name, f"is before {label}" if when else f"is below the minimum {label}", pc.less(values, low), text))
    if rule.max is not None:
        high, label = _bound_scalar(rule, rule.max, today, upper=True)
        too_late = pc.greater_equal(values, high) if rule.type == "timestamp" else pc.greater(values, high)
        found.append(issue(rule.name, f"is after {label}" if when else f"is above the maximum {label}", too_late, text))
    return found


def _string_issues(rule: ColumnRule, values: pa.Array, text: pa.Array) -> tuple[pa.Array, list[Issue | None]]:
    found: list[Issue | None] = []
    if rule.max_length is not None:
        found.append(issue(rule.name, f"is longer than {rule.max_length} characters", pc.greater(pc.utf8_length(values), rule.max_length), text))
    if rule.pattern is not None:
        bad = pc.invert(pc.match_substring_regex(values, rule.pattern))
        found.append(issue(rule.name, f"is not {rule.pattern_doc}" if rule.pattern_doc else f"does not match {rule.pattern}", bad, text))
    if rule.allowed is not None:
        # Synonyms map to the canonical value, so that 手工 and manual load as one.
        spellings = [_normalize(rule, pa.array([s])).to_pylist()[0] for v in rule.allowed.values() for s in v]
        canonical = [c for c, v in rule.allowed.items() for _ in v]
        index = pc.index_in(values, pa.array(spellings, pa.string()))
        bad = pc.and_(pc.is_valid(values), pc.is_null(index))
        found.append(issue(rule.name, f"is not one of {', '.join(rule.allowed)}", bad, text))
        values = pc.take(pa.array(canonical, pa.string()), index)
    return values, found


def coerce(rule: ColumnRule, text: pa.Array, null_values: tuple[str, ...], today: dt.date) -> Coerced:
    """Type one column and check its own rules (not references: those need the warehouse).

    A column with few distinct values is checked once per distinct value and
    the outcome mapped back to the rows: same result, a fraction of the work.
    """
    sample = text.slice(0, _SAMPLE)
    if len(text) < 2 * _SAMPLE or pc.count_distinct(sample, mode="all").as_py() * 4 > len(sample):
        return _coerce(rule, text, null_values, today)  # many distinct values: encoding would not pay
    encoded = pc.dictionary_encode(text, null_encoding="encode")
    inner = _coerce(rule, encoded.dictionary, null_values, today)
    rows = encoded.indices
    return Coerced(inner.values.take(rows), [f.for_rows(rows) for f in inner.issues])


def _coerce(rule: ColumnRule, text: pa.Array, null_values: tuple[str, ...], today: dt.date) -> Coerced:
    text = clean(text, null_values)
    values = _parse(rule, _normalize(rule, text))
    found: list[Issue | None] = []
    if rule.required:
        found.append(issue(rule.name, "is missing (required)", pc.is_null(text)))
    if rule.type != "string":
        found.append(issue(rule.name, _TYPE_PROBLEM[rule.type], pc.and_(pc.is_valid(text), pc.is_null(values)), text))
    if rule.type == "string":
        values, string_found = _string_issues(rule, values, text)
        found += string_found
    found += _range_issues(rule, values, text, today)
    if rule.exclude:
        found.append(issue(rule.name, "is not allowed", pc.is_in(values, pa.array(list(rule.exclude), rule.arrow_type)), text))
    if rule.decimals is not None and rule.type == "number":
        dot = pc.find_substring(text, ".")
        places = pc.subtract(pc.subtract(pc.utf8_length(text), dot), 1)
        too_fine = pc.and_(pc.greater_equal(dot, 0), pc.greater(places, rule.decimals))
        found.append(issue(rule.name, f"has more than {rule.decimals} decimal places", pc.and_(too_fine, pc.is_valid(values)), text))
    return Coerced(values.cast(rule.arrow_type), [f for f in found if f is not None])
