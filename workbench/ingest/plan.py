"""Decide what a load will do, before anything is written: a pure function of the file.

``make_plan`` turns a ``RawFile`` into the rows to load, the rows to
quarantine (with reasons) and the count of duplicates; ``drop_existing``
then removes rows whose key is already in ``raw.<table>``. Both are pure,
so every decision is unit-tested without a warehouse, and ``--dry-run``
shows exactly what a real load would do.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from workbench.ingest.contracts import Contract, header_key, map_header
from workbench.ingest.errors import IngestError
from workbench.ingest.readers import RawFile
from workbench.ingest.records import Quarantined
from workbench.ingest.validate import References, check_rows, differing_columns, first_occurrences, match_keys

CHUNK_ROWS = 250_000  # rows checked per step: bounds memory, and the progress bar moves


@dataclass
class Plan:
    """What loading one file means, row by row."""

    contract: Contract
    raw: RawFile
    good: pa.Table  # typed contract columns of the rows to load
    good_pos: np.ndarray  # their positions in ``raw.table``
    bad: list[Quarantined] = field(default_factory=list)
    duplicates: int = 0
    counts: Counter = field(default_factory=Counter)  # problem -> rows

    @property
    def loaded(self) -> int:
        return self.good.num_rows

    @property
    def quarantined(self) -> int:
        return sum(len(b.positions) for b in self.bad) + len(self.raw.rejected)

    @property
    def good_source_row(self) -> np.ndarray:
        return self.raw.source_row[self.good_pos]

    def keep(self, mask: np.ndarray) -> Plan:
        """The same plan loading only the good rows where ``mask`` is true."""
        return replace(self, good=self.good.filter(pa.array(mask)), good_pos=self.good_pos[mask])


def canonical_text(raw: RawFile, contract: Contract) -> pa.Table:
    """The file's columns renamed to the contract's names (still text); an error if the header does not fit."""
    mapping = map_header(raw.headers, contract, raw.path.name)
    for pos, header in enumerate(raw.headers):
        if pos in mapping or header_key(header):
            continue
        # A column without a header is only harmless when it is empty.
        values = pc.utf8_trim_whitespace(raw.table.column(f"c{pos}"))
        if pc.any(pc.greater(pc.utf8_length(values), 0)).as_py():
            raise IngestError(f"{raw.path.name}: column {pos + 1} has no header but holds values; give it a header the contract knows, or delete it")
    return pa.table({name: raw.table.column(f"c{pos}") for pos, name in mapping.items()})


def _key_label(contract: Contract) -> str:
    return ", ".join(contract.key)


def make_plan(
    raw: RawFile,
    contract: Contract,
    refs: References,
    *,
    today: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Check every row, then keep the first row of each key: later identical rows are duplicates,
    later rows that differ are quarantined (which one is right is a person's call)."""
    text = canonical_text(raw, contract)
    typed_parts, bad_parts, reasons, counts = [], [], [], Counter()
    for start in range(0, text.num_rows, CHUNK_ROWS):
        checked = check_rows(text.slice(start, CHUNK_ROWS), contract, refs, today)
        typed_parts.append(checked.typed)
        bad_parts.append(checked.bad)
        reasons.append(checked.reasons)
        counts += checked.counts
        if progress:
            progress(checked.typed.num_rows)
    bad = np.concatenate(bad_parts) if bad_parts else np.zeros(0, dtype=bool)
    typed = pa.concat_tables(typed_parts) if typed_parts else contract.arrow_schema().empty_table()
    quarantined = [Quarantined(np.flatnonzero(bad), pa.concat_arrays(reasons) if reasons else pa.array([], pa.string()))]
    plan = Plan(contract, raw, typed.filter(pa.array(~bad)), np.flatnonzero(~bad), quarantined, 0, counts)

    first = first_occurrences(plan.good, contract.key)
    repeats = np.flatnonzero(first != np.arange(plan.good.num_rows))
    if repeats.size == 0:
        return plan
    earlier = first[repeats]
    differ = differing_columns(plan.good.take(pa.array(repeats)), plan.good.take(pa.array(earlier)), contract.column_names)
    conflicting = np.asarray(pc.is_valid(differ).to_numpy(zero_copy_only=False), dtype=bool)
    first_rows = pa.array(plan.good_source_row[earlier[conflicting]]).cast(pa.string())
    reason = pc.binary_join_element_wise(
        f"duplicate key ({_key_label(contract)}): source row ", first_rows, " has the same key with a different ",
        differ.filter(pa.array(conflicting)), "",
    )
    keep = np.ones(plan.good.num_rows, dtype=bool)
    keep[repeats] = False
    result = plan.keep(keep)
    result.bad = plan.bad + [Quarantined(plan.good_pos[repeats[conflicting]], reason)]
    result.duplicates = int((~conflicting).sum())
    if conflicting.any():
        result.counts = counts + Counter({"duplicate key in the file with different values": int(conflicting.sum())})
    return result


def drop_existing(plan: Plan, existing: pa.Table) -> Plan:
    """Remove rows whose key is already in ``raw.<table>`` (``existing``: contract columns + ``ingest_id``).

    The same row again is a duplicate (overlapping exports); the same key
    with other values is quarantined, because raw data is never edited and
    silently keeping either version would lose the other.
    """
    contract = plan.contract
    found = match_keys(plan.good, existing, contract.key, contract.column_names)
    if found.rows.size == 0:
        return plan
    conflicting = np.asarray(pc.is_valid(found.differ).to_numpy(zero_copy_only=False), dtype=bool)
    earlier_ids = existing.column("ingest_id").take(pa.array(found.earlier[conflicting])).combine_chunks()
    reason = pc.binary_join_element_wise(
        f"key ({_key_label(contract)}) was already loaded by ingest ", earlier_ids, " with a different ",
        found.differ.filter(pa.array(conflicting)), "",
    )
    keep = np.ones(plan.good.num_rows, dtype=bool)
    keep[found.rows] = False
    result = plan.keep(keep)
    result.bad = plan.bad + [Quarantined(plan.good_pos[found.rows[conflicting]], reason)]
    result.duplicates = plan.duplicates + int((~conflicting).sum())
    if conflicting.any():
        result.counts = plan.counts + Counter({"key already loaded with different values": int(conflicting.sum())})
    return result
