"""``wb members rfm | value | holdout | calls | pairing | scalpers``: members and marketing from the shell.

Every command reads through the user's governed session (names and phones masked for all but admin).
Expected failures (a date before any purchase, unknown SKC codes, a user without the tables) print one line
and exit with code 2.
"""

from __future__ import annotations

import functools
from typing import Callable

import click
import pandas as pd

from workbench.cli_output import Refused, print_rows

FORMATS = click.Choice(["table", "csv", "json"])


def _clean_errors(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from workbench.warehouse.engines import WarehouseMissing

        try:
            return func(*args, **kwargs)
        except (LookupError, ValueError, PermissionError, WarehouseMissing) as err:
            raise Refused(str(err).strip() or type(err).__name__) from None

    return wrapper


def _session(user: str):
    import workbench as wb

    return wb.session(user, entry_point="cli")


def _print(frame: pd.DataFrame, fmt: str, title: str) -> None:
    print_rows(frame.to_dict("records"), list(frame.columns), fmt, title=title)


@click.group()
def members() -> None:
    """Members (会员): RFM segments, lifetime value, BG/NBD holdout, reactivation call lists, pairing, scalpers.

    \b
    Examples:
      wb members rfm --as-of 2025-12-31 --user u_region_east
      wb members value --as-of 2025-12-31 --top 20
      wb members holdout --calibration-end 2025-09-30 --as-of 2025-12-31
      wb members calls --as-of 2025-12-31 --user u_store_001 --format csv > calls.csv
      wb members pairing --as-of 2025-12-03 --score 28
      wb members scalpers --start 2025-10-01 --end 2025-12-31
    """


@members.command("rfm")
@click.option("--as-of", "as_of", required=True, help="Day the segments are computed at (YYYY-MM-DD).")
@click.option("--user", "-u", default="u_analyst", show_default=True, help="Whose governed session reads.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def rfm(as_of: str, user: str, fmt: str) -> None:
    """Members per RFM segment (重要价值客户 ...) with their spend and mean days since the last purchase.

    \b
    Example:
      wb members rfm --as-of 2025-12-31 --user u_store_017
    """
    from workbench.members.rfm import member_rfm, segment_counts

    with _session(user) as s:
        _print(segment_counts(member_rfm(s, as_of)).to_pandas(), fmt, f"RFM segments at {as_of}")


@members.command("value")
@click.option("--as-of", "as_of", required=True, help="Day the models are fitted at (YYYY-MM-DD).")
@click.option("--user", "-u", default="u_analyst", show_default=True)
@click.option("--months", type=click.IntRange(1, 120), default=12, show_default=True, help="Lifetime value horizon.")
@click.option("--discount", type=click.FloatRange(0, 1), default=0.01, show_default=True, help="Discount per month.")
@click.option("--top", type=click.IntRange(1), default=20, show_default=True, help="Members shown, highest value first.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def value(as_of: str, user: str, months: int, discount: float, top: int, fmt: str) -> None:
    """Lifetime value per member (BG/NBD × Gamma-Gamma), with P(alive) and the fitted parameters.

    \b
    Example:
      wb members value --as-of 2025-12-31 --months 24 --top 50 --format csv
    """
    from workbench.members.value import member_values

    with _session(user) as s:
        values = member_values(s, as_of, months=months, monthly_discount=discount)
    if fmt == "table":
        click.echo(f"BG/NBD {values.purchases.as_dict()}  Gamma-Gamma {values.spend.as_dict()}", err=True)
    _print(values.members.head(top), fmt, f"Lifetime value over {months} months at {as_of}")


@members.command("holdout")
@click.option("--calibration-end", required=True, help="Last day the model is fitted on (YYYY-MM-DD).")
@click.option("--as-of", "as_of", required=True, help="Last day of the holdout (YYYY-MM-DD).")
@click.option("--user", "-u", default="u_analyst", show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def holdout(calibration_end: str, as_of: str, user: str, fmt: str) -> None:
    """BG/NBD predicted vs actual repeat purchases in the holdout, by calibration frequency.

    \b
    Example:
      wb members holdout --calibration-end 2025-06-30 --as-of 2025-12-31 --user u_region_east
    """
    from workbench.members.summary import score_holdout

    with _session(user) as s:
        score = score_holdout(s, calibration_end, as_of)
    click.echo(f"predicted {score.predicted:,.1f}, actual {score.actual:,} repeat purchases over {score.weeks:.1f} "
               f"weeks: error {score.error_pct:+.1f} %, MAE {score.mae:.3f} per member", err=True)
    _print(score.by_frequency(), fmt, "Mean holdout purchases by calibration frequency")


@members.command("calls")
@click.option("--as-of", "as_of", required=True, help="Day the list is made for (YYYY-MM-DD).")
@click.option("--user", "-u", default="u_analyst", show_default=True,
              help="Whose session reads; a store manager gets their store's list, masked.")
@click.option("--store", "store_code", default=None, help="Only this store's list, e.g. S001.")
@click.option("--products", default=None, help="Offer only these SKCs, comma-separated (e.g. the pushed styles).")
@click.option("--alerts", is_flag=True, help="Show the sleeping-member alerts per store instead of the calls.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def calls(as_of: str, user: str, store_code: str | None, products: str | None, alerts: bool, fmt: str) -> None:
    """Reactivation call lists (老客激活): sleeping members, opening lines, three products in their size.

    \b
    Examples:
      wb members calls --as-of 2025-12-31 --user u_store_001
      wb members calls --as-of 2025-12-31 --alerts
      wb members calls --as-of 2025-12-31 --store S003 --products 25AW-KN0002-KHA,25AW-SW0006-NAV --format json
    """
    from workbench.members.reactivation import call_lists

    chosen = [p for p in products.split(",")] if products is not None else None
    with _session(user) as s:
        result = call_lists(s, as_of, products=chosen)
    if alerts:
        _print(result.alerts, fmt, f"Sleeping-member alerts at {as_of}")
        return
    rows = result.for_store(store_code) if store_code else result.calls
    if store_code and rows.empty and store_code not in set(result.alerts["store_code"]):
        raise Refused(f"no call list for store {store_code!r} in your view: the stores are "
                      f"{', '.join(result.alerts['store_code'])}")
    _print(rows, fmt, f"Call list at {as_of} (stock as of {result.stock_as_of})")


@members.command("pairing")
@click.option("--as-of", "as_of", required=True, help="Last day of the tickets the pairs are counted on (YYYY-MM-DD).")
@click.option("--user", "-u", default="u_analyst", show_default=True, help="Whose governed session reads.")
@click.option("--skc", "skcs", default=None, help="Only these SKCs, comma-separated (e.g. 25AW-JK0003-BLK).")
@click.option("--score", "holdout_days", type=click.IntRange(1, 365), default=None,
              help="Instead: the hit rate of the suggestions made up to --as-of on the tickets of this many days "
                   "after it, against the best sellers.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def pairing(as_of: str, user: str, skcs: str | None, holdout_days: int | None, fmt: str) -> None:
    """Outfit pairing (搭配): the top suggestions per SKC from co-purchase and product tags, or their hit rate.

    \b
    Examples:
      wb members pairing --as-of 2025-12-31 --skc 25AW-JK0003-BLK,25AW-TR0010-NAV
      wb members pairing --as-of 2025-12-03 --score 28
    """
    from workbench.members.pairing import pairing_suggestions
    from workbench.members.pairing_eval import score_pairing

    with _session(user) as s:
        if holdout_days is not None:
            score = score_pairing(s, as_of, holdout_days)
            rows = pd.DataFrame({"method": list(score.hit_rate), "hit_rate": list(score.hit_rate.values())})
            click.echo(f"{score.tickets:,} held-out tickets {as_of} + {holdout_days} days; top {score.k}; "
                       f"{score.lift_over_popularity:.2f}x the best sellers", err=True)
            _print(rows, fmt, "Pairing hit rate on held-out tickets")
            return
        top = pairing_suggestions(s, as_of, skcs.split(",") if skcs is not None else None).to_pandas()
    _print(top, fmt, f"Pairing suggestions at {as_of}")


@members.command("scalpers")
@click.option("--start", required=True, help="First day the rules look at (YYYY-MM-DD).")
@click.option("--end", required=True, help="Last day (YYYY-MM-DD).")
@click.option("--user", "-u", default="u_analyst", show_default=True, help="Whose governed session reads.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@_clean_errors
def scalpers(start: str, end: str, user: str, fmt: str) -> None:
    """Scalper and abuse cases on limited releases (黄牛识别), with their evidence (rules: members.scalpers).

    \b
    Example:
      wb members scalpers --start 2025-10-01 --end 2025-12-31 --format csv > cases.csv
    """
    from workbench.members.scalpers import scalper_cases

    with _session(user) as s:
        cases = scalper_cases(s, start, end)
    _print(cases.drop(columns="buyer"), fmt, f"Scalper cases {start} .. {end}")
