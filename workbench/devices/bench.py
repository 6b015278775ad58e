"""``wb bench devices``: reads per second through the gateway with the RFID simulator at full rate, lost and duplicated.

The simulated reader (:class:`~workbench.devices.simulators.RfidSimulator`, on a real socat pty pair, in this
process) holds ``--tags`` tags of S001 and reads every one in every round (full rate). The gateway runs as
its own process (``wb devices run --seconds S --format json``), journals and lands every round in a copy of
the tiny chain's warehouse. Then the warehouse is compared with what the reader buffered, EPC by EPC:

- ``reads_per_s``: reads landed / the gateway's active seconds (first round to last write, start-up excluded);
- ``lost``: buffered reads missing from the warehouse; ``duplicated``: reads there more often than buffered
  (and rows sharing a read id). Target: 0 and 0 at ≥ 500 reads per second (issue 9).

JSON in the shared format of DESIGN.md (bench ``devices``), with ``wall_s`` and ``peak_rss_mb`` of the gateway.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click
import yaml

from workbench.bench.report import BenchReport, run_measured

__all__ = ["command", "measure", "loss_and_duplicates"]

STORE, USER = "S001", "u_device_s001"


def loss_and_duplicates(buffered: list[str], landed: list[str], read_ids: list[str]) -> tuple[int, int]:
    """(lost, duplicated) of the landed EPCs against the buffered ones, counted per EPC (pure)."""
    sent, got = collections.Counter(buffered), collections.Counter(landed)
    lost = sum((sent - got).values())
    duplicated = sum((got - sent).values()) + len(read_ids) - len(set(read_ids))
    return lost, duplicated


def _tags(settings, n: int) -> list[str]:
    """``n`` tags of S001's booked SKUs, one serial each."""
    import workbench as wb
    from workbench.devices.epc import epc_of_unit
    from workbench.devices.stocktake import book_stock, store_of

    with wb.session(USER, settings=settings, entry_point="device") as s:
        _, book = book_stock(s, store_of(s, STORE), dt.date(2100, 1, 1))
    skus = sorted(int(x) for x in book["sku_id"])
    return [epc_of_unit(skus[i % len(skus)], i + 1) for i in range(n)]


def measure(settings, tags: int, seconds: float, noise: str, seed: int, workdir: Path) -> BenchReport:
    from workbench.devices.commands import _noise
    from workbench.devices.simulators import RfidSimulator
    import workbench as wb

    report = BenchReport("devices", f"{tags}-tags", seed)
    with RfidSimulator(_tags(settings, tags), read_chance=1.0, noise=_noise(noise, seed)) as sim:
        config = workdir / "gateway.yaml"
        config.write_text(yaml.safe_dump({"devices": {
            "journal": str(workdir / "journal"), "flush_s": 1.0,
            "ports": {"bench": {"kind": "rfid", "port": sim.port, "store": STORE, "user": USER}}}}))
        env = {**os.environ, "WB_WAREHOUSE": str(settings.warehouse), "WB_AUDIT_DIR": str(settings.audit_dir)}
        run = run_measured([sys.executable, "-m", "workbench.cli", "devices", "run", "--config", str(config),
                            "--seconds", str(seconds), "--format", "json"], env=env)
        buffered = [epc for _, epc in sim.buffered]
    if run.returncode != 0:
        raise click.ClickException(f"the gateway failed (exit {run.returncode}); see its log above")
    done = json.loads(run.stdout.strip().splitlines()[-1])
    with wb.session("u_admin", settings=settings) as s:
        landed = s.sql("select read_id, epc from raw.rfid_tag_reads").to_pandas()
    lost, duplicated = loss_and_duplicates(buffered, landed["epc"].tolist(), landed["read_id"].tolist())
    method = "wb devices run (buffered inventory, journal)"
    reader = done["readers"][0]
    report.add(method, "reads_per_s", round(len(landed) / done["active_s"], 1))
    report.add(method, "lost", lost)
    report.add(method, "duplicated", duplicated)
    report.add(method, "reads", len(landed))
    report.add(method, "rounds", reader["rounds"])
    report.add(method, "skipped_bytes", reader["skipped_bytes"])
    report.add(method, "bad_checksums", reader["bad_checksums"])
    report.add(method, "active_s", round(done["active_s"], 2))
    report.add(method, "wall_s", round(run.wall_s, 2))
    report.add(method, "peak_rss_mb", round(run.peak_rss_mb, 1))
    return report


@click.command("devices")
@click.option("--tags", type=click.IntRange(1, 99_999), default=500, show_default=True,
              help="Tags in the reader's field; every one is read in every round (full rate).")
@click.option("--seconds", type=click.FloatRange(1), default=20.0, show_default=True, help="How long the gateway runs.")
@click.option("--noise", default="", help="Line noise, as `wb devices simulate`: e.g. garbage=0.05,bad_checksum=0.05")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--json", "json_path", type=click.Path(path_type=Path), help="Where to write the JSON results.")
def command(tags: int, seconds: float, noise: str, seed: int, json_path: Path | None) -> None:
    """Reads per second through the gateway at full rate, and the reads lost or duplicated (target 0 and 0).

    The simulated reader runs on a real pty pair (socat), the gateway as its own process writing a copy of the
    tiny chain (built once under data/bench/).

    \b
    Examples:
      wb bench devices
      wb bench devices --tags 1000 --seconds 30 --noise garbage=0.05,bad_checksum=0.05 --json bench-results/devices.json
    """
    from workbench.bench.commands import bench_chain

    chain = bench_chain("tiny", seed, None)
    workdir = Path(tempfile.mkdtemp(prefix="wb-bench-devices-"))
    try:
        settings = chain.with_(warehouse=workdir / "w.duckdb", audit_dir=workdir / "audit")
        shutil.copyfile(chain.warehouse, settings.warehouse)
        report = measure(settings, tags, seconds, noise, seed, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.print_table()
    click.echo(f"JSON: {report.write_json(json_path)}")
