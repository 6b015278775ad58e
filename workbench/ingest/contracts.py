"""Ingest contracts: what a file for each raw table must look like.

The rules live in ``workbench/conf/contracts.yaml`` so that the people who
know the POS / ERP exports can add a header spelling or a value synonym
without touching code. This module turns that file into typed, validated
objects and maps a file's header onto a contract.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from workbench.config import CONF_DIR
from workbench.ingest.errors import IngestError

CONTRACTS_FILE = CONF_DIR / "contracts.yaml"

# Contract type -> Arrow type of the column in raw.<table>. Integers are
# int64 and numbers float64 so that no valid file value can overflow.
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}

# Lineage columns added to every raw table (the session adds ``run_id``).
LINEAGE_SCHEMA = pa.schema(
    [
        ("ingest_id", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("loaded_at", pa.timestamp("us")),
    ]
)

_COLUMN_KEYS = {
    "type", "required", "aliases", "doc", "normalize", "pattern", "pattern_doc", "allowed",
    "min", "max", "exclude", "decimals", "max_length", "references", "scope",
}
_TABLE_KEYS = {"doc", "key", "columns", "checks", "ignore_columns", "null_values"}
_CHECK_KEYS = {"name", "rule", "message"}


@dataclass(frozen=True)
class Reference:
    """A foreign key into core: the value must exist in ``core.<table>.<column>``."""

    table: str
    column: str
    what: str  # how a value reads in a message: "store", "product"


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""
    normalize: str | None = None
    pattern: str | None = None
    pattern_doc: str | None = None
    # canonical value -> its accepted spellings (the canonical one included)
    allowed: dict[str, tuple[str, ...]] | None = None
    min: Any = None
    max: Any = None
    exclude: tuple[Any, ...] = ()
    decimals: int | None = None
    max_length: int | None = None
    references: Reference | None = None
    scope: str | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]


@dataclass(frozen=True)
class Check:
    """A cross-field rule: a SQL boolean over the typed columns of one row."""

    name: str
    rule: str
    message: str

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns the message shows, in order of appearance."""
        return tuple(dict.fromkeys(re.findall(r"{(\w+)}", self.message)))


@dataclass(frozen=True)
class Contract:
    table: str
    doc: str
    key: tuple[str, ...]
    columns: tuple[ColumnRule, ...]
    checks: tuple[Check, ...] = ()
    ignore_columns: tuple[str, ...] = ()
    null_values: tuple[str, ...] = ()
    _by_name: dict[str, ColumnRule] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name: c for c in self.columns})

    @property
    def raw_table(self) -> str:
        return f"raw.{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnRule:
        return self._by_name[name]

    def arrow_schema(self) -> pa.Schema:
        """The data columns of ``raw.<table>``, without lineage."""
        return pa.schema([pa.field(c.name, c.arrow_type) for c in self.columns])

    def raw_schema(self) -> pa.Schema:
        """What ``raw.<table>`` holds (the session adds ``run_id``)."""
        return pa.schema(list(self.arrow_schema()) + list(LINEAGE_SCHEMA))


# --- loading -------------------------------------------------------------------


def _fail(where: str, problem: str) -> IngestError:
    return IngestError(f"{CONTRACTS_FILE.name}: {where}: {problem}")


def _check_keys(where: str, got: dict, allowed: set[str]) -> None:
    unknown = sorted(set(got) - allowed)
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _bound(where: str, type_: str, value: Any) -> Any:
    """Bounds are kept as Python values of the column's type (``today`` stays a word)."""
    if value is None or value == "today":
        return value
    if type_ in ("integer", "number"):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise _fail(where, f"bound {value!r} must be a number")
        return value
    if type_ in ("date", "timestamp"):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise _fail(where, f"bound {value!r} must be a date (YYYY-MM-DD) or 'today'") from None
    raise _fail(where, f"min / max do not apply to type {type_}")


def _allowed(where: str, value: Any) -> dict[str, tuple[str, ...]] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return {str(v): (str(v),) for v in value}
    if isinstance(value, dict):
        return {str(k): (str(k), *(str(s) for s in (v or []))) for k, v in value.items()}
    raise _fail(where, "allowed must be a list of values or a mapping value -> synonyms")


def _column(table: str, name: str, raw: dict) -> ColumnRule:
    where = f"tables.{table}.columns.{name}"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping of rules")
    _check_keys(where, raw, _COLUMN_KEYS)
    type_ = raw.get("type", "string")
    if type_ not in ARROW_TYPES:
        raise _fail(where, f"type {type_!r} is not one of {', '.join(ARROW_TYPES)}")
    if raw.get("normalize") not in (None, "upper", "lower"):
        raise _fail(where, "normalize must be upper or lower")
    if raw.get("pattern") is not None:
        try:
            re.compile(raw["pattern"])
        except re.error as exc:
            raise _fail(where, f"pattern is not a regular expression: {exc}") from None
    if raw.get("scope") not in (None, "stores"):
        raise _fail(where, "scope must be `stores` (the user's store scope, resolved by the session)")
    ref = raw.get("references")
    if ref is not None:
        if not isinstance(ref, dict) or set(ref) - {"table", "column", "what"} or "table" not in ref:
            raise _fail(where, "references must be {table, column, what}")
        ref = Reference(ref["table"], ref.get("column", name), ref.get("what", ref["table"]))
    return ColumnRule(
        name=name,
        type=type_,
        required=bool(raw.get("required", False)),
        aliases=tuple(str(a) for a in raw.get("aliases", ())),
        doc=raw.get("doc", ""),
        normalize=raw.get("normalize"),
        pattern=raw.get("pattern"),
        pattern_doc=raw.get("pattern_doc"),
        allowed=_allowed(where, raw.get("allowed")),
        min=_bound(where, type_, raw.get("min")),
        max=_bound(where, type_, raw.get("max")),
        exclude=tuple(raw.get("exclude", ())),
        decimals=raw.get("decimals"),
        max_length=raw.get("max_length"),
        references=ref,
        scope=raw.get("scope"),
    )


def _contract(table: str, raw: dict, defaults: dict) -> Contract:
    where = f"tables.{table}"
    _check_keys(where, raw, _TABLE_KEYS)
    if not raw.get("columns"):
        raise _fail(where, "has no columns")
    columns = tuple(_column(table, name, rule) for name, rule in raw["columns"].items())
    names = {c.name for c in columns}
    key = tuple(raw.get("key", ()))
    if not key or set(key) - names:
        raise _fail(where, f"key {list(key)} must name columns of the table")
    if any(not next(c for c in columns if c.name == k).required for k in key):
        raise _fail(where, "every key column must be required (a row without a key cannot be de-duplicated)")
    checks = []
    for i, chk in enumerate(raw.get("checks", ()) or ()):
        _check_keys(f"{where}.checks[{i}]", chk, _CHECK_KEYS)
        check = Check(chk.get("name", f"check_{i}"), chk["rule"], chk.get("message", f"fails {chk['rule']}"))
        if set(check.columns) - names:
            raise _fail(f"{where}.checks[{i}]", f"message names unknown columns {sorted(set(check.columns) - names)}")
        checks.append(check)
    _check_aliases(table, columns)
    return Contract(
        table=table,
        doc=" ".join(str(raw.get("doc", "")).split()),
        key=key,
        columns=columns,
        checks=tuple(checks),
        ignore_columns=tuple(str(c) for c in raw.get("ignore_columns", ()) or ()),
        null_values=tuple(str(v) for v in raw.get("null_values", defaults.get("null_values", [""]))),
    )


def _check_aliases(table: str, columns: tuple[ColumnRule, ...]) -> None:
    """Two columns answering to one header would make the mapping a guess."""
    owner: dict[str, str] = {}
    for col in columns:
        for spelling in (col.name, *col.aliases):
            k = header_key(spelling)
            if owner.setdefault(k, col.name) != col.name:
                raise _fail(f"tables.{table}", f"header {spelling!r} is an alias of both {owner[k]} and {col.name}")


def parse_contracts(text: str) -> dict[str, Contract]:
    """Contracts from YAML text (the file's content; tests pass their own)."""
    raw = yaml.safe_load(text) or {}
    _check_keys("top level", raw, {"defaults", "shared", "tables"})
    defaults = raw.get("defaults") or {}
    return {name: _contract(name, body or {}, defaults) for name, body in (raw.get("tables") or {}).items()}


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> dict[str, Contract]:
    return parse_contracts(path.read_text(encoding="utf-8"))


def load_contracts(path: Path | None = None) -> dict[str, Contract]:
    """All contracts, read from ``contracts.yaml`` (re-read when the file changes)."""
    path = Path(path or CONTRACTS_FILE)
    return _load(path, path.stat().st_mtime)


def get_contract(table: str, path: Path | None = None) -> Contract:
    """One contract by table name, or an error listing the known tables."""
    contracts = load_contracts(path)
    name = table.removeprefix("raw.")
    if name not in contracts:
        raise IngestError(f"no ingest contract for table {table!r}; known: {', '.join(sorted(contracts))} (see {CONTRACTS_FILE})")
    return contracts[name]


# --- header mapping -------------------------------------------------------------


def header_key(text: str) -> str:
    """A header reduced to what matters: 'Ticket No', 'ticket_no' and 'ＴＩＣＫＥＴ－ＮＯ' agree."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s_\-]+", "", text)


def map_header(headers: list[str], contract: Contract, file_name: str) -> dict[int, str]:
    """Position in the file -> canonical column, or an ``IngestError`` saying what to fix.

    Missing required columns, unknown columns and two file columns meaning the
    same thing are whole-file errors: loading anyway would silently drop or
    mix up data.
    """
    lookup = {header_key(s): c.name for c in contract.columns for s in (c.name, *c.aliases)}
    ignored = {header_key(s) for s in contract.ignore_columns}
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for pos, header in enumerate(headers):
        k = header_key(header)
        if not k or k in ignored:
            continue
        canonical = lookup.get(k)
        if canonical is None:
            unknown.append(header)
        elif canonical in seen:
            raise IngestError(f"{file_name}: columns {seen[canonical]!r} and {header!r} both mean {canonical}; remove one of them")
        else:
            seen[canonical] = header
            mapping[pos] = canonical
    missing = [c.name for c in contract.columns if c.required and c.name not in seen]
    if missing:
        raise IngestError(
            f"{file_name}: missing required column(s) {', '.join(missing)} for {contract.raw_table} "
            f"(file columns: {', '.join(map(str, headers))}); add them, or add the file's spelling as an alias in {CONTRACTS_FILE.name}"
        )
    if unknown:
        raise IngestError(
            f"{file_name}: unknown column(s) {', '.join(map(repr, unknown))} for {contract.raw_table}; "
            f"add them as aliases or to ignore_columns in {CONTRACTS_FILE.name}, or remove them from the file"
        )
    return mapping
