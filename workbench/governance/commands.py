"""``wb users``, ``wb tables``, ``wb query``, ``wb audit``: the governed door from the shell.

Each command opens a session with ``entry_point="cli"``, so it is audited
like any other access. Refusals and bad SQL print one line and exit with
code 2 (no traceback): the message already says what to do next.
"""

from __future__ import annotations

import functools
import json
from typing import Callable

import click

from workbench.cli_output import Refused, print_rows


def _clean_errors(func: Callable) -> Callable:
    """Turn the door's expected errors into one line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from workbench.governance.policies import AccessConfigError
        from workbench.governance.sqlguard import SqlError
        from workbench.warehouse.engines import WarehouseMissing

        try:
            return func(*args, **kwargs)
        except (PermissionError, SqlError, LookupError, WarehouseMissing, AccessConfigError) as err:
            raise Refused(str(err)) from None

    return wrapper


def _session(user: str):
    """A CLI session; scope warnings become one plain line on stderr."""
    import warnings

    from workbench.governance.session import session

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        s = session(user, entry_point="cli")
    for w in caught:
        if issubclass(w.category, UserWarning):
            click.echo(f"warning: {w.message}", err=True)
    return s


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@_clean_errors
def users(as_json: bool) -> None:
    """List the configured users with their role and scope.

    Users, roles and policies live in workbench/conf/access.yaml (or WB_ACCESS).

    \b
    Examples:
      wb users
      wb users --json
    """
    from workbench.config import load_settings
    from workbench.governance.policies import load_access

    config = load_access(load_settings().access_file)
    rows = []
    for user in config.users.values():
        role = config.roles[user.role]
        policy = config.row_policy(role)
        if policy is None:
            scope = "all rows"
        else:
            value = user.attributes.get(policy.attribute)
            scope = f"{policy.attribute}: {', '.join(value) if isinstance(value, list) else value}"
        rows.append({"user": user.name, "role": user.role, "name": user.title, "scope": scope,
                     "writes": ", ".join(role.write) or "-"})
    print_rows(rows, ["user", "role", "name", "scope", "writes"], "json" if as_json else "table", title=str(config.path))


@click.command()
@click.option("--user", "-u", required=True, help="The user whose view to show (see `wb users`).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_clean_errors
def tables(user: str, as_json: bool) -> None:
    """List the tables a user may read, with the columns they see.

    Masked columns are marked with *; hidden columns are not listed.

    \b
    Examples:
      wb tables --user u_store_017
      wb tables --user u_analyst --json
    """
    with _session(user) as s:
        infos = s.tables()
    if as_json:
        click.echo(json.dumps([
            {"table": i.qualified, "doc": i.doc,
             "columns": [{"name": c.name, "dtype": c.dtype, "masked": c.masked} for c in i.columns]}
            for i in infos
        ], ensure_ascii=False, indent=1))
        return
    rows = [
        {"table": i.qualified, "columns": ", ".join(c.name + ("*" if c.masked else "") for c in i.columns), "about": i.doc}
        for i in infos
    ]
    print_rows(rows, ["table", "columns", "about"], "table", title=f"Tables {user} may read (* masked)")


@click.command()
@click.option("--user", "-u", required=True, help="Run as this user, through their policies.")
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--limit", type=int, default=100, show_default=True, help="Rows to return at most; 0 for all.")
@_clean_errors
def query(user: str, sql: str, fmt: str, limit: int) -> None:
    """Run SQL as a user, through that user's policies.

    Only read queries are accepted (admin excepted); table names are
    `table` (core) or `layer.table`; row filters and masks apply as in Python.

    \b
    Examples:
      wb query --user u_store_017 "select sale_date, sum(net_amount) from sales group by 1"
      wb query --user u_region_east "select * from stores" --format csv --limit 0
    """
    with _session(user) as s:
        expr = s.sql(sql)
        if expr is None:
            click.echo("ok")
            return
        try:
            result = (expr.limit(limit) if limit else expr).to_pyarrow()
        except Exception as err:  # a run-time failure of the engine (bad cast ...): one line, audited already
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise Refused(f"the query failed: {first}") from None
    print_rows(result.to_pylist(), result.column_names, fmt)


@click.command()
@click.option("--user", "-u", required=True, help="An auditor or admin (see `wb users`).")
@click.option("--limit", type=int, default=20, show_default=True, help="Most recent entries to show.")
@click.option("--of", "of_user", help="Only entries of this user.")
@click.option("--status", type=click.Choice(["ok", "denied", "error"]), help="Only entries with this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_clean_errors
def audit(user: str, limit: int, of_user: str | None, status: str | None, as_json: bool) -> None:
    """Show recent entries of the audit log (auditor, admin).

    Every read, query, write and refusal of every entry point is recorded.

    \b
    Examples:
      wb audit --user u_auditor
      wb audit --user u_auditor --status denied --limit 50
      wb audit --user u_admin --of u_store_017 --json
    """
    with _session(user) as s:
        log = s.table("audit_log")
        if of_user:
            log = log.filter(log.user == of_user)
        if status:
            log = log.filter(log.status == status)
        rows = log.order_by(log.ts.desc()).limit(limit).to_pyarrow().to_pylist()
    if as_json:
        print_rows(rows, [], "json")
        return
    for row in rows:
        row["ts"] = f"{row['ts']:%Y-%m-%d %H:%M:%S}" if row["ts"] else ""
        row["tables"] = ", ".join(row["tables"] or [])
        row["detail"] = (row["query"] or row["message"] or "")[:120]
    print_rows(rows, ["ts", "user", "role", "entry_point", "action", "status", "tables", "rows", "detail"], "table")
