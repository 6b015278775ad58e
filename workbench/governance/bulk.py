"""Whole-warehouse loads (the simulator, a restore) through the door's grants and audit.

A bulk load replaces every table at once through an engine sink, not row by
row through a session: it builds a new warehouse file and swaps it in, so
there is no open warehouse to hold a session on. It still answers to the
same policy file (the user must be granted writes on every table it
replaces) and leaves the same trace in the audit log as any other write.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from workbench.config import Settings
from workbench.governance.audit import AuditRecord, writer_for
from workbench.governance.policies import load_access


@contextmanager
def bulk_load(settings: Settings, user: str, tables: list[str], *, run_id: str, what: str) -> Iterator[dict[str, int]]:
    """Authorise ``user`` to replace ``tables``, run the body, and audit the outcome.

    The body fills the yielded dict with rows written per table. A refusal is
    audited and raised before anything is built.
    """
    config = load_access(settings.access_file)
    audit = writer_for(settings.audit_dir)
    person = config.user(user)
    role = config.role_of(person)
    refused = [t for t in tables if not config.can_write(role, t)]

    def record(action: str, status: str, rows: int | None, message: str) -> None:
        audit.write(AuditRecord(person.name, role.name, "cli", action, status, run_id,
                                tables=list(tables), rows=rows, message=message))

    if refused:
        message = (f"user {user!r} (role {role.name!r}) may not replace {', '.join(refused[:5])}"
                   f"{' ...' if len(refused) > 5 else ''}: a bulk load needs write grants on every table "
                   f"in the policy file {config.path}; run it as an admin (e.g. u_admin)")
        record("denied", "denied", None, f"write: {message}")
        raise PermissionError(message)
    rows: dict[str, int] = {}
    try:
        yield rows
    except BaseException as err:
        record("write", "error", sum(rows.values()) or None, f"bulk load failed: {what}: {type(err).__name__}: {err}"[:2000])
        raise
    record("write", "ok", sum(rows.values()), f"bulk load: {what}")
