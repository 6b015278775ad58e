"""In a real browser: the operations dashboard shows each manager their own numbers, and follows their choices."""

from __future__ import annotations

import pytest

import workbench as wb

from .conftest import log_in, screenshot

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PERIOD = ("2025-12-04", "2025-12-31")  # the default "last 4 weeks" of the tiny chain


def _net_sales_by_store(settings, user: str) -> dict[str, float]:
    """Net sales per store code in PERIOD: a direct governed SQL query, no metrics layer."""
    with wb.session(user, settings=settings, read_only=True) as s:
        got = s.sql(f"""select st.store_code, sum(sa.net_amount) as net
                        from sales sa join stores st using (store_id)
                        where sa.sale_date between date '{PERIOD[0]}' and date '{PERIOD[1]}'
                        group by 1""").to_pandas()
    return dict(zip(got["store_code"], got["net"]))


def _table(page) -> list[dict[str, str]]:
    """The visible rows of the result table, as field -> text."""
    return page.locator(".tabulator-row:visible").evaluate_all("""rows => rows.map(r => Object.fromEntries(
        [...r.querySelectorAll('.tabulator-cell[tabulator-field]')].map(c => [c.getAttribute('tabulator-field'),
                                                                          c.innerText.trim()])))""")


def _money(text: str) -> float:
    return float(text.replace("¥", "").replace(",", ""))


_CHART_JS = """([measure, dimension]) => {
    const out = {}, seen = new Set();
    for (const doc of Bokeh.documents) for (const m of doc.all_models) {
        // the sources of the glyphs on show (a line left out by a filter is hidden, not removed)
        if (!m.data_source || !m.visible || seen.has(m.data_source.id)) continue;
        seen.add(m.data_source.id);
        const data = m.data_source.data;
        if (data[measure] === undefined || data[dimension] === undefined) continue;
        Array.from(data[measure]).forEach((v, i) => { const k = data[dimension][i]; out[k] = (out[k] || 0) + v; });
    }
    return out; }"""


def _chart_totals(page, measure: str, dimension: str, keys) -> dict:
    """What the trend chart draws: per value of ``dimension``, the sum of ``measure`` over its points, read
    from the data sources of the visible glyphs BokehJS holds, once the chart shows exactly ``keys``
    (it is redrawn after the table)."""
    wanted = sorted(keys)
    page.wait_for_function(f"([m, d, w]) => JSON.stringify(Object.keys(({_CHART_JS})([m, d])).sort()) === "
                           "JSON.stringify(w)", arg=[measure, dimension, wanted])
    return page.evaluate(_CHART_JS, [measure, dimension])


def test_a_store_manager_sees_only_their_store_with_the_numbers_of_a_governed_query(served_apps, page):
    log_in(page, served_apps.url, "u_store_001", app="operations")
    page.locator(".tabulator-row").first.wait_for()
    expected = _net_sales_by_store(served_apps.settings, "u_store_001")
    assert list(expected) == ["S001"]
    rows = _table(page)
    assert len(rows) == 1 and rows[0]["region"] == "East"  # the region of S001, and nothing else
    assert _money(rows[0]["net_sales"]) == pytest.approx(expected["S001"], abs=0.5)
    page.get_by_text(f"¥{expected['S001']:,.0f}").first.wait_for()  # the KPI card
    assert _net_sales_by_store(served_apps.settings, "u_hq")["S001"] == pytest.approx(expected["S001"])
    screenshot(page, "operations-store-manager")


def test_a_region_manager_changes_the_dimension_and_a_filter(served_apps, page):
    log_in(page, served_apps.url, "u_region_east", app="operations")
    page.locator(".tabulator-row").first.wait_for()
    expected = _net_sales_by_store(served_apps.settings, "u_region_east")

    page.locator("select").filter(has_text="Store 门店").select_option(label="Store 门店")
    page.locator(".tabulator-row:visible", has_text="S006").first.wait_for()
    shown = {row["store_code"]: _money(row["net_sales"]) for row in _table(page)}
    assert shown == pytest.approx(expected, abs=0.5)
    assert _chart_totals(page, "net_sales", "store_code", expected) == pytest.approx(expected, abs=0.5)
    screenshot(page, "operations-region-by-store")

    store_filter = page.locator(".bk-input-group", has_text="Store 门店 filter")
    store_filter.locator("input").first.click()
    store_filter.locator(".choices__item--choice", has_text="S006").first.click()
    page.locator(".tabulator-row:visible", has_text="S001").first.wait_for(state="detached")
    shown = {row["store_code"]: _money(row["net_sales"]) for row in _table(page)}
    assert shown == pytest.approx({"S006": expected["S006"]}, abs=0.5)
    drawn = _chart_totals(page, "net_sales", "store_code", ["S006"])
    assert drawn == pytest.approx({"S006": expected["S006"]}, abs=0.5)
    screenshot(page, "operations-region-filtered")


def _wait_for_log(path, text: str, timeout_s: float = 120) -> str:
    """Until the server's log holds ``text``; the log's text then."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        if text in log:
            return log
        time.sleep(0.1)  # polling a file the server writes: the event, not a guess at timing
    raise AssertionError(f"{text!r} not in {path} within {timeout_s} s")


def test_the_server_warms_up_what_is_one_click_away(served_apps, page):
    from pathlib import Path

    log_path = Path(served_apps.env["WB_APPS_DIR"]) / "panel.log"
    log_in(page, served_apps.url, "u_hq", app="operations")
    page.locator(".tabulator-row").first.wait_for()
    log = _wait_for_log(log_path, "dashboard warm-up done for u_hq")
    compiled = [int(line.rsplit(": ", 1)[1].split()[0]) for line in log.splitlines()
                if "dashboard warm-up done for u_hq" in line]
    assert compiled and compiled[0] > 5
    # the page still answers clicks as before: one click away, the table follows the dimension
    page.locator("select").filter(has_text="Channel 渠道").select_option(label="Channel 渠道")
    page.locator(".tabulator-row:visible", has_text="online").first.wait_for()
