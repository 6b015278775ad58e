"""The access configuration (``workbench/conf/access.yaml``) and the decisions it implies.

Everything here is pure: it reads the YAML into frozen objects and answers
"may this role read / write this table?", "which columns are hidden or
masked?". No ibis, no engine, so the rules are easy to test and to explain.
Deny by default: a table no grant matches is refused.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

SCOPE_ALL = "all"
MASK_KINDS = ("name", "phone", "redact")
# Tables that are not in a warehouse layer: the audit log is read from JSON-lines files.
VIRTUAL_TABLES = ("audit_log",)


class AccessConfigError(ValueError):
    """The access file is malformed; the message says where."""


class UnknownUser(LookupError):
    """A session was asked for a user the access file does not define."""


@dataclass(frozen=True)
class User:
    """A configured user: ``attributes`` feed the row policies (``stores``, ``region``)."""

    name: str
    role: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    deny: tuple[str, ...]
    scope: str  # SCOPE_ALL or the name of a row policy
    # Sessions open read-only unless asked to write: for roles whose writes are a person's occasional
    # decisions (approvals), so that their ordinary reads never take DuckDB's one write lock.
    opens_read_only: bool = False


@dataclass(frozen=True)
class RowPolicy:
    """How a scoped role's user attribute maps to locations in ``core.stores``."""

    name: str
    description: str
    attribute: str  # user attribute holding the values, e.g. ``stores``
    match: str  # core.stores column compared with them, e.g. ``store_code``


@dataclass(frozen=True)
class ColumnPolicy:
    name: str
    description: str
    action: str  # hide | mask
    columns: Mapping[str, str | None]  # column -> mask kind (None for hide)
    roles: frozenset[str] | None  # None = every role
    except_roles: frozenset[str]

    def applies_to(self, role: str) -> bool:
        return (self.roles is None or role in self.roles) and role not in self.except_roles


@dataclass(frozen=True)
class ColumnRule:
    """What happens to one column for one role, and which policy says so."""

    column: str
    action: str  # hide | mask
    policy: str
    mask: str | None = None


@dataclass(frozen=True)
class AccessConfig:
    path: Path
    roles: Mapping[str, Role]
    users: Mapping[str, User]
    row_policies: Mapping[str, RowPolicy]
    column_policies: tuple[ColumnPolicy, ...]
    location_columns: Mapping[str, str]  # column -> "id" | "code"

    # --- users and roles ---------------------------------------------------

    def user(self, name: str) -> User:
        try:
            return self.users[name]
        except KeyError:
            raise UnknownUser(
                f"unknown user {name!r}: no such user in {self.path}. "
                "List the configured users with `wb users`."
            ) from None

    def role_of(self, user: User) -> Role:
        return self.roles[user.role]

    def row_policy(self, role: Role) -> RowPolicy | None:
        return None if role.scope == SCOPE_ALL else self.row_policies[role.scope]

    # --- table grants ------------------------------------------------------

    def read_decision(self, role: Role, qualified: str) -> str | None:
        """``None`` when the role may read the table, else why not (for the error message)."""
        if _matches(qualified, role.deny):
            return f"denied by the `deny` list of role {role.name!r}"
        if not _matches(qualified, role.read):
            return f"no `read` grant of role {role.name!r} matches it"
        return None

    def can_read(self, role: Role, qualified: str) -> bool:
        return self.read_decision(role, qualified) is None

    def can_write(self, role: Role, qualified: str) -> bool:
        return _matches(qualified, role.write)

    # --- column policies ---------------------------------------------------

    def column_rules(self, role: Role, columns: Iterable[str]) -> dict[str, ColumnRule]:
        """Hidden and masked columns among ``columns`` for ``role`` (first matching policy wins)."""
        rules: dict[str, ColumnRule] = {}
        for col in columns:
            for policy in self.column_policies:
                if col in policy.columns and policy.applies_to(role.name):
                    rules[col] = ColumnRule(col, policy.action, policy.name, policy.columns[col])
                    break
        return rules


def _matches(qualified: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(qualified, p) for p in patterns)


# --- table names ---------------------------------------------------------------

# Table names are plain identifiers: a quoted "core.sales" or "x.csv" is not a table.
_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")


def qualify(name: str) -> str:
    """``sales`` -> ``core.sales``; ``raw.pos_sales`` stays; ``audit_log`` is virtual."""
    parts = tuple(p.strip().lower() for p in name.split("."))
    return qualify_parts(parts, name)


def qualify_parts(parts: tuple[str, ...], given: str) -> str:
    """Name parts (as written, lower-cased) to ``layer.table``; anything else is refused."""
    from workbench.warehouse.schema import LAYERS  # here, so `wb users` does not import ibis

    if len(parts) == 1 and _PLAIN.match(parts[0]):
        return parts[0] if parts[0] in VIRTUAL_TABLES else f"core.{parts[0]}"
    if len(parts) == 2 and parts[0] in LAYERS and _PLAIN.match(parts[1]):
        return ".".join(parts)
    raise PermissionError(
        f"{given!r} is not a warehouse table name: use `table` (core) or `layer.table` "
        f"with a layer among {', '.join(LAYERS)} (catalogs, other schemas, file names and "
        "quoted names with dots are not accepted)"
    )


# --- loading -------------------------------------------------------------------

_CACHE: dict[Path, tuple[float, AccessConfig]] = {}


def load_access(path: Path) -> AccessConfig:
    """Read and check the access file; cached until the file changes."""
    path = Path(path).resolve()
    if not path.exists():
        raise AccessConfigError(f"no access file at {path}: set WB_ACCESS or restore workbench/conf/access.yaml")
    mtime = path.stat().st_mtime
    cached = _CACHE.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    config = parse_access(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path)
    _CACHE[path] = (mtime, config)
    return config


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def parse_access(raw: Mapping[str, Any], path: Path) -> AccessConfig:
    """Build the config from parsed YAML, failing early with the offending entry named."""

    def fail(msg: str) -> AccessConfigError:
        return AccessConfigError(f"{path}: {msg}")

    row_policies = {
        name: RowPolicy(name, p.get("description", ""), p["attribute"], p["match"])
        for name, p in (raw.get("row_policies") or {}).items()
    }
    roles: dict[str, Role] = {}
    for name, r in (raw.get("roles") or {}).items():
        scope = r.get("scope", SCOPE_ALL)
        if scope != SCOPE_ALL and scope not in row_policies:
            raise fail(f"role {name!r} has scope {scope!r}, which is neither `all` nor a row policy")
        opens_read_only = r.get("opens_read_only", False)
        if not isinstance(opens_read_only, bool):
            raise fail(f"role {name!r}: opens_read_only must be true or false, not {opens_read_only!r}")
        roles[name] = Role(name, r.get("description", ""), _tuple(r.get("read")), _tuple(r.get("write")),
                           _tuple(r.get("deny")), scope, opens_read_only)

    column_policies = []
    for name, p in (raw.get("column_policies") or {}).items():
        action = p.get("action")
        if action not in ("hide", "mask"):
            raise fail(f"column policy {name!r}: action must be hide or mask, not {action!r}")
        cols = p.get("columns") or {}
        columns = dict(cols) if isinstance(cols, Mapping) else {c: None for c in cols}
        if action == "mask":
            bad = {c: k for c, k in columns.items() if k not in MASK_KINDS}
            if bad:
                raise fail(f"column policy {name!r}: unknown mask kinds {bad} (known: {', '.join(MASK_KINDS)})")
        role_names = p.get("roles", SCOPE_ALL)
        column_policies.append(ColumnPolicy(
            name, p.get("description", ""), action, columns,
            None if role_names == SCOPE_ALL else frozenset(_tuple(role_names)),
            frozenset(_tuple(p.get("except"))),
        ))

    users: dict[str, User] = {}
    for name, u in (raw.get("users") or {}).items():
        if u.get("role") not in roles:
            raise fail(f"user {name!r} has unknown role {u.get('role')!r}")
        users[name] = User(name, u["role"], dict(u.get("attributes") or {}), u.get("name", ""))

    location_columns = dict(raw.get("location_columns") or {"store_id": "id"})
    if bad := {c: k for c, k in location_columns.items() if k not in ("id", "code")}:
        raise fail(f"location_columns must map to `id` or `code`: {bad}")
    return AccessConfig(path, roles, users, row_policies, tuple(column_policies), location_columns)
