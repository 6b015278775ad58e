"""``wb devices``: the shop-floor gateway from the shell (scales, RFID stocktakes, simulators).

Readings are written through the governed door as a ``device`` user (``u_device_s001`` for S001).
Expected failures (no such port, a device not answering, a store outside the user's scope) print one
line saying what to do next and exit with code 2.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Callable

import click

from workbench.cli_output import Refused, print_rows

FORMATS = click.Choice(["table", "csv", "json"])
DEVICE_USER = "u_device_s001"


def _clean_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from workbench.devices.ptys import SocatMissing
        from workbench.devices.scale import ScaleError
        from workbench.warehouse.engines import WarehouseMissing

        try:
            return func(*args, **kwargs)
        except (ConnectionError, TimeoutError, ScaleError, SocatMissing, PermissionError, LookupError, ValueError,
                WarehouseMissing) as err:
            raise Refused(str(err).strip() or type(err).__name__) from None

    return wrapper


def _session(user: str, read_only: bool = False):
    import workbench as wb

    return wb.session(user, entry_point="device", read_only=read_only)


def _line(port: str, baud: int):
    from workbench.devices.line import SerialLine

    return SerialLine(port, baudrate=baud)


def _default_store(user: str) -> str:
    from workbench.governance.policies import load_access
    from workbench.config import load_settings

    stores = load_access(load_settings().access_file).user(user).attributes.get("stores") or []
    if len(stores) != 1:
        raise Refused(f"{user} has no single store ({stores or 'none'}): say which with --store")
    return str(stores[0])


@click.group()
def devices() -> None:
    """Shop-floor devices: scales (电子秤) and RFID stocktakes (RFID盘点) on serial ports.

    \b
    Examples:
      wb devices simulate rfid --store S001         # prints the port of a simulated reader
      wb devices rfid stocktake --port /tmp/wb-pty-xxxx/host --store S001 --rounds 4
      wb devices scale read --port /dev/ttyUSB0 --purpose parcel_check --reference TR1234 --expected 1250 --tolerance 20
    """


@devices.group()
def scale() -> None:
    """An MT-SICS scale (Mettler-Toledo and compatibles).

    \b
    Example:
      wb devices scale read --port /dev/ttyUSB0 --count 3 --purpose weighed_goods --reference 24SS-TS0012-BLK-M
    """


@scale.command("read")
@click.option("--port", required=True, help="Serial port of the scale, e.g. /dev/ttyUSB0.")
@click.option("--baud", type=int, default=9600, show_default=True, help="The scale's baud rate (8N1).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="Seconds to wait for each reply (3 tries).")
@click.option("--count", type=click.IntRange(1), default=1, show_default=True, help="Stable readings to take.")
@click.option("--purpose", type=click.Choice(["parcel_check", "weighed_goods", "other"]), default="other",
              show_default=True)
@click.option("--reference", default=None, help="What is weighed: a parcel, transfer or SKU code.")
@click.option("--expected", type=float, default=None, help="Expected weight, in the scale's unit.")
@click.option("--tolerance", type=float, default=None, help="Allowed difference from --expected.")
@click.option("--user", "-u", default=DEVICE_USER, show_default=True, help="The device user who writes.")
@click.option("--store", "store_code", default=None, help="Store of the scale (default: the user's store).")
@click.option("--no-write", is_flag=True, help="Only print the readings.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def scale_read(port: str, baud: int, timeout_s: float, count: int, purpose: str, reference: str | None, expected: float | None,
               tolerance: float | None, user: str, store_code: str | None, no_write: bool, fmt: str) -> None:
    """Read stable weights and write them to raw.scale_readings as the store's device user.

    \b
    Example:
      wb devices scale read --port /dev/ttyUSB0 --purpose parcel_check --reference TR1234 --expected 1250 --tolerance 20
    """
    from workbench.devices.scale import Scale
    from workbench.devices.weighing import weigh, write_readings

    with _line(port, baud) as line:
        s = Scale(line, timeout_s=timeout_s)
        serial_number = s.serial_number()
        rows = [weigh(s, i + 1, purpose=purpose, reference=reference, expected=expected, tolerance=tolerance)
                for i in range(count)]
    print_rows(rows, ["reading_no", "weight", "unit", "expected_weight", "within_tolerance"], fmt,
               title=f"Scale {serial_number} on {port}")
    if not no_write:
        with _session(user) as session:
            n = write_readings(session, store_code or _default_store(user), rows, serial_number)
            click.echo(f"{n} reading(s) written to raw.scale_readings (session {session.run_id})", err=True)


@devices.group()
def rfid() -> None:
    """An RFID reader with the R2000-family serial protocol.

    \b
    Example:
      wb devices rfid stocktake --port /dev/ttyUSB0 --store S001 --rounds 6
    """


@rfid.command("stocktake")
@click.option("--port", required=True, help="Serial port of the reader, e.g. /dev/ttyUSB0.")
@click.option("--store", "store_code", required=True, help="Store counted, e.g. S001 (in the user's scope).")
@click.option("--rounds", type=click.IntRange(1), default=4, show_default=True, help="Inventory rounds to run.")
@click.option("--baud", type=int, default=115200, show_default=True, help="The reader's baud rate (8N1).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.05), default=2.0, show_default=True,
              help="Seconds a round may take (3 tries).")
@click.option("--date", "count_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Count day (default today); the book stock is the latest snapshot on or before it.")
@click.option("--user", "-u", default=DEVICE_USER, show_default=True, help="The device user who writes.")
@click.option("--all", "show_all", is_flag=True, help="Show matching SKUs too, not only the differences.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def rfid_stocktake(port: str, store_code: str, rounds: int, baud: int, timeout_s: float, count_date: dt.datetime | None, user: str,
                   show_all: bool, fmt: str) -> None:
    """Count a store by RFID, compare with its book stock, write raw.rfid_reads and raw.rfid_stocktake.

    \b
    Example:
      wb devices rfid stocktake --port /dev/ttyUSB0 --store S001 --rounds 6 --date 2025-12-31
    """
    from workbench.devices.rfid import RfidReader
    from workbench.devices.stocktake import store_of, take_stock, write_stocktake

    day = count_date.date() if count_date else dt.date.today()
    with _session(user, read_only=True) as session:
        store_of(session, store_code)  # refuse a store outside the user's scope before counting
    with _line(port, baud) as line:  # no session meanwhile: a count takes minutes, the warehouse is not held
        done = list(RfidReader(line, round_timeout_s=timeout_s).inventory(rounds))
    with _session(user) as session:
        st = take_stock(session, done, store_code, day, reader_port=port)
        write_stocktake(session, st)
    rows = st.result if show_all else st.result[st.result["status"] != "match"]
    print_rows(rows.to_dict("records"), ["sku_id", "book_qty", "counted_qty", "found", "missing", "unexpected",
                                         "status"], fmt, title=f"Stocktake of {store_code} on {day}")
    click.echo(st.summary(), err=True)


@rfid.command("check")
@click.option("--port", required=True, help="Serial port of the reader at the packing or receiving table.")
@click.option("--transfer", "transfer_id", type=int, default=None,
              help="A transfer id of core.transfers: the carton holds that shipment (every line of the movement).")
@click.option("--picking-list", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A CSV picking list: sku_id or sku_code, and qty.")
@click.option("--store", "store_code", default=None, help="Where the carton is checked (default: the user's store).")
@click.option("--rounds", type=click.IntRange(1), default=3, show_default=True, help="Inventory rounds to run.")
@click.option("--baud", type=int, default=115200, show_default=True, help="The reader's baud rate (8N1).")
@click.option("--user", "-u", default=DEVICE_USER, show_default=True, help="The device user who writes.")
@click.option("--all", "show_all", is_flag=True, help="Show matched SKUs too, not only the differences.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def rfid_check(port: str, transfer_id: int | None, picking_list: Path | None, store_code: str | None, rounds: int,
               baud: int, user: str, show_all: bool, fmt: str) -> None:
    """Shipping / receiving check (智能出库): a carton's tags against a transfer or a picking list.

    Per SKU: matched, short, over or wrong_item (not on the list; a tag that is not the chain's too),
    written to raw.rfid_shipping_checks as the store's device user.

    \b
    Examples:
      wb devices rfid check --port /dev/ttyUSB0 --transfer 406
      wb devices rfid check --port /dev/ttyUSB0 --picking-list picking-0412.csv --store S001
    """
    from workbench.devices.rfid import RfidReader
    from workbench.devices.shipping import check_carton, picking_list as read_list, transfer_lines, write_check

    if (transfer_id is None) == (picking_list is None):
        raise Refused("say what the carton should hold: --transfer ID or --picking-list FILE (one of them)")
    store_code = store_code or _default_store(user)
    with _session(user, read_only=True) as session:
        expected = transfer_lines(session, transfer_id) if picking_list is None else read_list(session, picking_list)
    with _line(port, baud) as line:
        done = list(RfidReader(line).inventory(rounds))
    with _session(user) as session:
        check = check_carton(session, done, expected, store_code)
        write_check(session, check)
    rows = check.result if show_all else check.result[check.result["status"] != "matched"]
    print_rows(rows.to_dict("records"), ["sku_id", "expected_qty", "counted_qty", "short_qty", "over_qty", "status"],
               fmt, title=f"{check.direction.capitalize()} check of {expected.reference} at {store_code}")
    click.echo(check.summary(), err=True)


@devices.command("run")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Settings file with the devices: section (default: WB_CONFIG, else workbench/conf/workbench.yaml).")
@click.option("--rounds", type=click.IntRange(1), default=None,
              help="Inventory rounds per session; then its stocktake is written and the session ends "
                   "(default: run until stopped; a restart resumes the session).")
@click.option("--seconds", type=click.FloatRange(0), default=None, help="Stop after this long (the session stays open).")
@click.option("--date", "count_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Count day of the stocktake (default today): book stock of the latest snapshot on or before it.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def run(config_file: Path | None, rounds: int | None, seconds: float | None, count_date: dt.datetime | None,
        fmt: str) -> None:
    """The gateway: read the configured readers, journal every read, write them through the door.

    Each read is journaled locally (fsync'd) before it is written to raw.rfid_tag_reads as the device's user;
    a gateway killed and started again resumes from its journal, and the warehouse has each read once.
    SIGTERM or Ctrl-C stops after the current round, writing what was read.

    \b
    Example:
      wb devices run --rounds 20 --date 2025-12-31    # the readers of devices.ports in workbench.yaml
    """
    import logging
    import signal
    import threading

    from workbench.devices.gateway import run_gateway
    from workbench.devices.settings import load_gateway

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    report = run_gateway(load_gateway(config_file), rounds=rounds, seconds=seconds,
                         count_date=count_date.date() if count_date else None, stop=stop)
    rows = [vars(r) for r in report.readers]
    if fmt == "json":  # one object: the readers and the run (wb bench devices reads it)
        click.echo(json.dumps({"readers": rows, "landed": report.landed, "active_s": round(report.active_s, 3),
                               "finished": report.finished}))
    else:
        print_rows(rows, ["device", "rounds", "reads", "skipped_bytes", "bad_checksums", "reconnects", "error"], fmt,
                   title="Gateway")
    click.echo(f"{report.landed} read(s) written to raw.rfid_tag_reads in {report.active_s:.1f} s; "
               f"sessions finished: {', '.join(report.finished) or 'none'}", err=True)
    if report.errors:
        raise Refused("; ".join(report.errors))


@devices.command("simulate")
@click.argument("kind", type=click.Choice(["scale", "rfid"]))
@click.option("--store", "store_code", default=None, help="rfid: the store whose book stock is on the shelf.")
@click.option("--user", "-u", default=DEVICE_USER, show_default=True, help="rfid: who reads the book stock.")
@click.option("--date", "count_date", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="rfid: the book stock of the latest snapshot on or before this day (default today).")
@click.option("--discrepancies", type=click.IntRange(0), default=3, show_default=True,
              help="rfid: SKUs with units missing, and as many with units unexpected.")
@click.option("--load", type=float, default=1250.0, show_default=True, help="scale: grams on the pan.")
@click.option("--noise", default="", help="e.g. garbage=0.1,split=0.1,bad_checksum=0.05,unstable=2,"
                                          "disconnect_after=100")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: until Ctrl-C).")
@_clean_errors
def simulate(kind: str, store_code: str | None, user: str, count_date: dt.datetime | None, discrepancies: int,
             load: float, noise: str, seed: int, seconds: float | None) -> None:
    """Start socat and a simulated scale or reader on a real pty pair; print the port for the other commands.

    \b
    Examples:
      wb devices simulate scale --load 830 --noise unstable=3
      wb devices simulate rfid --store S001 --date 2025-12-31 --noise garbage=0.05,bad_checksum=0.05
    """
    from workbench.devices.simulators import RfidSimulator, ScaleSimulator

    parsed = _noise(noise, seed)
    if kind == "scale":
        sim = ScaleSimulator(load_g=load, noise=parsed)
    else:
        sim = RfidSimulator(_store_shelf(user, store_code, count_date, discrepancies, seed), noise=parsed)
    with sim:
        click.echo(sim.port)
        click.echo(f"simulated {kind} on {sim.port} ({', '.join(sim.pair.pts)}); Ctrl-C stops it", err=True)
        try:
            sim.wait_stopped(seconds)
        except KeyboardInterrupt:
            pass


def _noise(text: str, seed: int):
    from dataclasses import fields

    from workbench.devices.simulators import Noise

    kinds = {f.name: f.type for f in fields(Noise)}
    values = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = item.partition("=")
        if key not in kinds or key == "seed":
            raise Refused(f"unknown noise {key!r}: use {', '.join(k for k in kinds if k != 'seed')}")
        values[key] = float(value) if key in ("garbage", "split", "bad_checksum") else int(value)
    return Noise(seed=seed, **values)


def _store_shelf(user: str, store_code: str | None, count_date: dt.datetime | None, discrepancies: int,
                 seed: int) -> list[str]:
    """The simulated store's tags: its book stock with a few planted discrepancies (session closed after)."""
    from workbench.devices.simulators import planted_discrepancies, shelf
    from workbench.devices.stocktake import book_stock, store_of

    store_code = store_code or _default_store(user)
    day = count_date.date() if count_date else dt.date.today()
    with _session(user, read_only=True) as session:
        _, book = book_stock(session, store_of(session, store_code), day)
    booked = dict(zip(book["sku_id"].astype(int), book["book_qty"].astype(int)))
    missing, unexpected = planted_discrepancies(booked, seed, discrepancies)
    click.echo(f"{store_code}: {sum(booked.values())} units in the books", err=True)
    click.echo("planted: " + json.dumps({"missing": missing, "unexpected": unexpected}), err=True)
    return shelf(booked, missing, unexpected)
