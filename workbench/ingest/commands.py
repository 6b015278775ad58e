"""``wb ingest``: load a POS / ERP export into the raw layer.

Exit codes: 0 loaded (even with quarantined rows: the good rows are in, the
bad ones are waiting with their reasons) or already loaded; 2 nothing was
written because the file, the table or the user's rights do not allow it.
Errors are one line, never a traceback: the person at the keyboard is
usually a merchandiser with an export, not a developer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workbench.cli_output import Refused
from workbench.ingest.errors import IngestError

# Files above this size get progress bars (below it a load takes about a second).
PROGRESS_FROM_BYTES = 8 << 20

EXAMPLES = """\b
Examples:
  wb ingest --user u_admin --table pos_sales exports/pos_2024-03-01.csv
  wb ingest --user u_pipeline --table traffic 客流_0301.xlsx
  wb ingest --user u_admin --table stock_counts counts.parquet --dry-run

\b
Tables and their columns: workbench/conf/contracts.yaml.
CSV may be UTF-8 (with or without BOM) or GB18030; also .xlsx and Parquet.
A file already loaded (same bytes) is not loaded again; rows whose key is
already in the table count as duplicates. Bad rows go to raw.quarantine
with the reason; look at them with the `wb query` line printed at the end.
"""


def _progress_factory(enabled: bool):
    """tqdm bars on stderr for big files: counts, rate and ETA. Off when stderr is not a terminal."""
    from tqdm import tqdm

    bars = []

    def make(label: str, total: int | None, unit: str):
        if not enabled:
            return lambda n: None
        bar = tqdm(total=total, desc=label, unit=unit, unit_scale=True, file=sys.stderr, disable=None, leave=False)
        bars.append(bar)

        def update(n: int) -> None:
            bar.update(n)
            if bar.total is not None and bar.n >= bar.total:
                bar.close()

        return update

    return make, bars


def _report(result, user: str) -> str:
    """The counts and where to look, as a block of plain lines."""
    if result.previous is not None:
        p = result.previous
        return f"{result.source_file}: already loaded as ingest {p.ingest_id} on {p.finished_at:%Y-%m-%d %H:%M} UTC by {p.user_name}; nothing added"
    fmt = result.file_format.upper() + (f", {result.encoding.upper()}" if result.encoding else "")
    head = f"{result.source_file} ({fmt}) -> raw.{result.table}"
    head += ": dry run, nothing written" if result.dry_run else f": ingest {result.ingest_id}"
    lines = [
        head,
        f"  read         {result.rows_read:>10,}",
        f"  loaded       {result.loaded:>10,}" + ("  (would load)" if result.dry_run else ""),
        f"  quarantined  {result.quarantined:>10,}",
        f"  duplicates   {result.duplicates:>10,}  (already loaded, or repeated in the file)",
    ]
    if result.problems:
        lines.append("  problems:    " + "; ".join(f"{what} ({n:,})" for what, n in result.problems[:6]))
    if result.quarantined and not result.dry_run:
        query = f"select * from raw.quarantine where ingest_id = '{result.ingest_id}' order by source_row"
        lines.append(f'  see the quarantined rows:  wb query --user {user} "{query}"')
    return "\n".join(lines)


@click.command("ingest", epilog=EXAMPLES)
@click.option("--user", required=True, help="Who loads the file; their scope limits which rows they may load.")
@click.option("--table", "table", required=True, help="Raw table to load into, e.g. pos_sales, stock_counts, traffic.")
@click.option("--dry-run", is_flag=True, help="Check the file and print the counts; write nothing.")
@click.option("--sheet", default=None, help="Excel sheet to read (default: the first).")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=True, exists=False))
def ingest(user: str, table: str, dry_run: bool, sheet: str | None, file: Path) -> None:
    """Load a POS / ERP export (CSV, .xlsx, Parquet) into raw.TABLE; bad rows go to raw.quarantine."""
    from workbench.governance.writes import SchemaMismatch
    from workbench.ingest.contracts import get_contract
    from workbench.ingest.load import ingest as run_ingest

    try:
        contract = get_contract(table)
    except IngestError as exc:
        raise Refused(str(exc))

    import workbench as wb

    try:
        # A dry run reads only, so it does not hold the warehouse for writing.
        session = wb.session(user, entry_point="cli", read_only=True if dry_run else None)
    except Exception as exc:  # unknown user, missing warehouse ...: one line, not a traceback
        raise Refused(f"cannot open a session for {user!r}: {exc}")

    big = file.is_file() and file.stat().st_size >= PROGRESS_FROM_BYTES
    make_progress, bars = _progress_factory(big)
    try:
        result = run_ingest(session, file, contract, dry_run=dry_run, sheet=sheet, progress=make_progress)
    except IngestError as exc:
        raise Refused(str(exc))
    except PermissionError as exc:
        raise Refused(f"{user} may not load into raw.{contract.table} ({exc}); nothing was written. Ask an admin for write access to the raw layer")
    except NotImplementedError as exc:
        raise Refused(f"this engine cannot load files atomically ({exc}); nothing was written. Run ingest on the duckdb engine")
    except SchemaMismatch as exc:
        raise Refused(
            f"raw.{contract.table} does not match its contract ({exc}); nothing was written. "
            "It was created under an earlier contract: ask an admin to add the column(s) to the table"
        )
    finally:
        for bar in bars:
            bar.close()
        close = getattr(session, "close", None)
        if close:
            close()
    click.echo(_report(result, user))
