"""A user's row scope: which locations they may see, resolved once per session.

Row policies are written in business terms (store codes, a region); facts
carry integer ``store_id`` keys. So the session reads ``core.stores`` once
when it opens and turns the user's attributes into explicit lists of ids and
codes. Filters are then plain ``isin(list)`` predicates, which every ibis
engine runs and which compile to SQL the guard can splice into queries.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import ibis
import ibis.expr.types as ir

from workbench.governance.policies import RowPolicy, User


class ScopeWarning(UserWarning):
    """The user's scope names locations this warehouse does not have."""


@dataclass(frozen=True)
class Scope:
    """The locations a user may see; ``unrestricted`` means every row."""

    unrestricted: bool
    store_ids: tuple[int, ...] = ()
    store_codes: tuple[str, ...] = ()
    policy: str | None = None

    def describe(self) -> str:
        if self.unrestricted:
            return "all rows"
        return ", ".join(self.store_codes) if self.store_codes else "no locations"

    def keys_for(self, kind: str) -> list:
        return list(self.store_ids if kind == "id" else self.store_codes)


ALL = Scope(unrestricted=True)


def _values(attribute: Any) -> list[str]:
    if attribute is None:
        return []
    return [attribute] if isinstance(attribute, str) else [str(v) for v in attribute]


def resolve_scope(user: User, policy: RowPolicy | None, stores: Iterable[Mapping[str, Any]] | None) -> Scope:
    """Turn the user's attribute (store codes or a region) into ids and codes.

    ``stores`` are rows of ``core.stores`` (``store_id``, ``store_code`` and
    the policy's ``match`` column), or ``None`` when the warehouse has none.
    Values that match nothing give an empty scope and a warning, not an error:
    a store manager of a store missing from a small test warehouse sees nothing.
    """
    if policy is None:
        return ALL
    wanted = _values(user.attributes.get(policy.attribute))
    rows = list(stores or [])
    hits = [r for r in rows if r.get(policy.match) in wanted]
    found = {r.get(policy.match) for r in hits}
    missing = [w for w in wanted if w not in found]
    if missing or not wanted:
        what = ", ".join(missing) if wanted else f"nothing (user attribute {policy.attribute!r} is empty)"
        warnings.warn(
            f"user {user.name!r}: {policy.attribute} {what} not found in core.stores "
            f"({policy.match}); those rows are out of scope",
            ScopeWarning,
            stacklevel=4,  # the caller of workbench.session()
        )
    hits.sort(key=lambda r: r["store_id"])
    return Scope(
        unrestricted=False,
        store_ids=tuple(int(r["store_id"]) for r in hits),
        store_codes=tuple(str(r["store_code"]) for r in hits),
        policy=policy.name,
    )


def row_predicate(table: ir.Table, scope: Scope, location_columns: Mapping[str, str]) -> ir.BooleanValue | None:
    """The filter a scoped user gets on ``table``, or ``None`` if no filter applies.

    A row is visible when any of the table's location columns is in scope, so a
    transfer is visible from either end. Tables without location columns are
    not filtered (the access file keeps them away from scoped roles if needed).
    """
    if scope.unrestricted:
        return None
    cols = location_columns_of(table.columns, location_columns)
    if not cols:
        return None
    preds = []
    for col in cols:
        keys = scope.keys_for(location_columns[col])
        preds.append(table[col].isin(keys) if keys else ibis.literal(False))
    return ibis.or_(*preds)


def location_columns_of(columns: Iterable[str], location_columns: Mapping[str, str]) -> list[str]:
    return [c for c in columns if c in location_columns]
