"""The SQL door: parse a user's query, refuse what is not a plain read, and rewrite it.

Raw SQL must obey the same policies as ibis tables (DESIGN invariant 1). The
guard never passes the user's text to the engine: it parses it with sqlglot
in the engine's dialect, checks the tree, replaces every table reference by
a subquery of that user's governed table (row filter, hidden columns, masks
included) and renders the tree again. What runs is what was checked.

Defences, each kept as a test in ``tests/governance/test_sqlguard.py``:

- one statement, and only a read query (SELECT, WITH, set operations);
- no data-changing, DDL or session statements anywhere in the tree
  (``ATTACH``, ``COPY``, ``PRAGMA``, ``SET``, ``INSTALL``, ``CALL`` ...);
- in ``FROM`` only names, subqueries, ``VALUES`` and ``UNNEST``: no table
  functions, so no file readers (``read_csv``, ``'x.csv'`` is a name that
  no grant matches), no ``query_table``, no ``duckdb_tables()``;
- a block list of system, environment and file functions anywhere;
- every name must resolve to a table the user may read; CTE names count as
  CTEs only where SQL scoping makes them visible, so a CTE cannot smuggle a
  real table past the rewrite;
- a column hidden from the user may not be named at all, with the policy said.

This module is pure (sqlglot only): the session supplies the lookups.
"""

from __future__ import annotations

import fnmatch
import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError


class SqlRefused(PermissionError):
    """The query does something the SQL door does not allow for this user."""


class SqlError(ValueError):
    """The SQL cannot be run: it does not parse, or the engine cannot bind it."""


class SqlSyntaxError(SqlError):
    """The text is not SQL the engine's dialect can parse."""


# Functions refused anywhere in a non-admin query: they read files or other
# databases, run SQL given as text, or reveal the environment, settings or
# catalog. Patterns are shell wildcards over lower-case function names.
BLOCKED_FUNCTIONS = (
    # files, URLs and other databases
    "read_*", "*_scan", "glob", "sniff_csv", "parquet_*", "iceberg_*", "delta_*",
    "sqlite_*", "postgres_*", "mysql_*", "http*", "load_*", "install_*",
    # SQL given as text or a table given by name
    "query", "query_table", "json_execute_serialized_sql",
    # environment, settings, variables
    "getenv", "current_setting", "getvariable", "setseed", "which_secret",
    # catalog introspection and system functions
    "duckdb_*", "pragma_*", "pg_*", "information_schema*", "has_*_privilege",
    "*_description", "format_type", "format_pg_type", "current_database", "current_schema",
    "current_schemas", "current_catalog", "current_user", "current_role", "current_query",
    "current_version", "session_user", "version", "txid_*", "nextval", "currval",
    "checkpoint", "force_checkpoint", "enable_*", "disable_*", "sql_auto_complete",
    "summary", "test_all_types", "test_vector_types", "repeat_row",
    # Spark: JVM reflection and file names
    "reflect", "java_method", "try_reflect", "input_file_*",
)

# Statement-like nodes refused anywhere in the tree (e.g. an INSERT inside a CTE).
_REFUSED_NODES = tuple(
    getattr(exp, name)
    for name in (
        "DML", "DDL", "Command", "QueryTransform", "Pragma", "Set", "Use", "Drop", "Attach",
        "Detach", "Install", "Describe", "Show", "Summarize", "Alter", "Cache", "Uncache",
        "Refresh", "Grant", "Revoke", "Transaction", "Commit", "Rollback", "Kill", "LoadData",
        "Analyze", "Export", "Into", "Returning",
    )
    if hasattr(exp, name)
)
# Row sources allowed besides names and subqueries: they generate rows, they read nothing.
_ALLOWED_UDTF = (exp.Unnest, exp.Explode, exp.Values, exp.Lateral)
# Parts of a table reference carried over to the substituted subquery; anything
# else (time travel, hints, ...) is refused rather than silently dropped.
_TABLE_ARGS_KEPT = {"this", "db", "catalog", "alias", "pivots", "sample"}
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_statement(sql: str, dialect) -> exp.Expression:
    """Exactly one statement, parsed; several statements are refused (no piggy-backing)."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except RecursionError:
        raise SqlSyntaxError("the query is nested too deeply to check; simplify it") from None
    except (ParseError, TokenError) as err:
        keyword = leading_keyword(sql)
        if keyword and keyword not in _READ_KEYWORDS:
            # sqlglot does not know every engine command (EXPORT DATABASE ...): refuse by its verb.
            raise SqlRefused(f"only read queries (SELECT, WITH, UNION ...) are allowed here, not {keyword}") from None
        raise SqlSyntaxError(f"cannot parse the SQL: {_describe(err)}") from None
    if not statements:
        raise SqlSyntaxError("no SQL statement given")
    if len(statements) > 1:
        raise SqlRefused(f"one statement at a time: got {len(statements)}; run them one by one")
    return statements[0]


_READ_KEYWORDS = {"SELECT", "WITH", "FROM", "VALUES", "("}
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*(\(|[A-Za-z_]+)", re.S)


def leading_keyword(sql: str) -> str | None:
    """The statement's first word after comments, upper-cased (``EXPORT``, ``SELECT`` ...)."""
    match = _LEADING.match(sql)
    return match.group(1).upper() if match else None


def _describe(err: Exception) -> str:
    """sqlglot's first error in plain words: what, where, near which text."""
    errors = getattr(err, "errors", None) or [{"description": str(err).splitlines()[0] if str(err) else type(err).__name__}]
    first = errors[0]
    what = re.sub(r"<Token token_type: TokenType\.SENTINEL[^>]*>", "the end of the query", first["description"])
    what = re.sub(r"<Token token_type: [^,]*, text: ([^,]*),[^>]*>", r"'\1'", what)
    where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
    near = f" near {first['highlight']!r}" if first.get("highlight") else ""
    return f"{what}{where}{near}"


def function_name(node: exp.Func) -> str:
    return (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()


def blocked_function(name: str) -> bool:
    """Whether a function (by name) is refused to non-admin users."""
    return any(fnmatch.fnmatchcase(name.lower(), p) for p in BLOCKED_FUNCTIONS)


def check_read_only(tree: exp.Expression) -> None:
    """Refuse anything but one plain read query (see the module docstring)."""
    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)):
        kind = tree.key.upper() if isinstance(tree, exp.Expression) else type(tree).__name__
        raise SqlRefused(f"only read queries (SELECT, WITH, UNION ...) are allowed here, not {kind}")
    for node in tree.walk():
        if isinstance(node, _REFUSED_NODES):
            raise SqlRefused(f"{node.key.upper()} is not allowed in a query; only reads are")
        if isinstance(node, exp.Select) and node.args.get("into"):
            raise SqlRefused("SELECT ... INTO is not allowed; only reads are")
        if isinstance(node, exp.Func) and blocked_function(function_name(node)):
            raise SqlRefused(
                f"function {function_name(node)}() is not allowed: it reads files, settings, "
                "the environment or the catalog. Use `wb tables` to see the tables you may query"
            )
        if isinstance(node, exp.UDTF) and not isinstance(node, _ALLOWED_UDTF):
            raise SqlRefused(f"{node.key.upper()} is not allowed as a row source")
        if isinstance(node, exp.Table):
            _check_table_node(node)
        if isinstance(node, exp.CTE) and not _PLAIN_NAME.match(node.alias_or_name):
            raise SqlRefused(f"CTE name {node.alias_or_name!r} must be a plain name (letters, digits, _)")


def _check_table_node(table: exp.Table) -> None:
    if not isinstance(table.this, exp.Identifier):
        what = function_name(table.this) + "()" if isinstance(table.this, exp.Func) else table.this.sql()
        raise SqlRefused(
            f"{what} in FROM is not allowed: table functions and file readers are refused; "
            "query tables by name (see `wb tables`)"
        )
    extra = sorted(k for k, v in table.args.items() if v and k not in _TABLE_ARGS_KEPT)
    if extra:
        raise SqlRefused(f"table modifier {', '.join(extra)} on {table.sql()} is not supported through the SQL door")


# --- names --------------------------------------------------------------------------


def reference_parts(table: exp.Table) -> tuple[str, ...]:
    """``catalog.db.name`` as given, lower-cased (engines here are case-insensitive)."""
    return tuple(p.lower() for p in (table.catalog, table.db, table.name) if p)


def is_cte_reference(table: exp.Table) -> bool:
    """Whether an unqualified name refers to a CTE visible at that point of the query.

    Walks outwards through the enclosing queries. Inside a WITH clause only the
    CTEs defined before the current one are visible (all of them when the WITH
    is RECURSIVE); the query body sees all. A name that is not a visible CTE is a
    table, and gets the governed rewrite.
    """
    if table.args.get("db") or table.args.get("catalog"):
        return False
    name = table.name.lower()
    path: list[exp.Expression] = [table]
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            if path[-1] is with_:
                current = path[-2]
                idx = next(i for i, c in enumerate(ctes) if c is current)
                visible = ctes if with_.args.get("recursive") else ctes[:idx]
            else:
                visible = ctes
            if any(c.alias_or_name.lower() == name for c in visible):
                return True
        path.append(node)
        node = node.parent
    return False


def table_references(tree: exp.Expression) -> list[exp.Table]:
    """Every reference to a stored table (CTE references excluded)."""
    return [t for t in tree.find_all(exp.Table) if not is_cte_reference(t)]


def column_names(tree: exp.Expression) -> set[str]:
    """Lower-case names of every column the query names (anywhere, any qualifier)."""
    names = {c.name.lower() for c in tree.find_all(exp.Column) if isinstance(c.this, exp.Identifier)}
    # JOIN ... USING (col) names columns as bare identifiers.
    for join in tree.find_all(exp.Join):
        names |= {i.name.lower() for i in join.args.get("using") or [] if isinstance(i, exp.Identifier)}
    return names


def substitute(table: exp.Table, query: exp.Expression) -> None:
    """Replace a table reference by ``(query) AS alias``, keeping the alias users wrote."""
    alias = table.args.get("alias")
    if alias is None:
        alias = exp.TableAlias(this=exp.to_identifier(table.name))
    sub = exp.Subquery(this=query, alias=alias.copy())
    for key in ("pivots", "sample"):
        if table.args.get(key):
            sub.set(key, table.args[key])
    table.replace(sub)


def rename(table: exp.Table, layer: str, name: str) -> None:
    """Point a reference at ``layer.name`` (admin: names resolved, nothing else changed)."""
    alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
    table.set("catalog", None)
    table.set("db", exp.to_identifier(layer))
    table.set("this", exp.to_identifier(name))
    table.set("alias", alias)


def render(tree: exp.Expression, dialect) -> str:
    """The SQL that will run: comments dropped, so nothing can hide in them."""
    return tree.sql(dialect=dialect, comments=False)

