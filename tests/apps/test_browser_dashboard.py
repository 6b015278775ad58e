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


def _chart_totals(page, measure: str, dimension: str) -> dict:
    """What the trend chart draws: per value of ``dimension``, the sum of ``measure`` over its points, read
    from the data sources BokehJS holds in the page (lines of another dimension are not on the page)."""
    return page.evaluate("""([measure, dimension]) => {
        const out = {};
        for (const doc of Bokeh.documents) for (const m of doc.all_models) {
            const data = m.data;
            if (!data || data[measure] === undefined || data[dimension] === undefined) continue;
            const values = Array.from(data[measure]);
            values.forEach((v, i) => { const k = data[dimension][i]; out[k] = (out[k] || 0) + v; });
        }
        return out; }""", [measure, dimension])


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
    drawn = _chart_totals(page, "net_sales", "store_code")
    assert drawn == pytest.approx(expected, abs=0.5)
    screenshot(page, "operations-region-by-store")

    store_filter = page.locator(".bk-input-group", has_text="Store 门店 filter").locator("input").first
    store_filter.click()
    store_filter.fill("S006")
    store_filter.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('.tabulator-row').length >= 0")
    page.locator(".tabulator-row:visible", has_text="S001").first.wait_for(state="detached")
    shown = {row["store_code"]: _money(row["net_sales"]) for row in _table(page)}
    assert shown == pytest.approx({"S006": expected["S006"]}, abs=0.5)
    assert _chart_totals(page, "net_sales", "store_code") == pytest.approx({"S006": expected["S006"]}, abs=0.5)
    screenshot(page, "operations-region-filtered")
