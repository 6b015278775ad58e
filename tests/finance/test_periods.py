"""Reporting periods: the forms finance writes, the comparison periods, and the refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from workbench.finance.period import check_periods, comparison_period, read_period

D = dt.date


@pytest.mark.parametrize("text, start, end, label", [
    ("2025-11", D(2025, 11, 1), D(2025, 11, 30), "2025-11"),
    ("2024-2", D(2024, 2, 1), D(2024, 2, 29), "2024-02"),
    ("2025-q4", D(2025, 10, 1), D(2025, 12, 31), "2025-Q4"),
    ("2025", D(2025, 1, 1), D(2025, 12, 31), "2025"),
    ("2025-11-03 .. 2025-11-09", D(2025, 11, 3), D(2025, 11, 9), "2025-11-03 .. 2025-11-09"),
])
def test_periods_are_read_in_every_form(text, start, end, label):
    period = read_period(text)
    assert (period.start, period.end, period.label) == (start, end, label)


@pytest.mark.parametrize("period, compare, start, end, label", [
    ("2025-11", "previous_year", D(2024, 11, 1), D(2024, 11, 30), "2024-11"),
    ("2025-11", "previous", D(2025, 10, 1), D(2025, 10, 31), "2025-10"),
    ("2025-Q1", "previous", D(2024, 10, 1), D(2024, 12, 31), "2024-Q4"),
    ("2025-03", "previous", D(2025, 2, 1), D(2025, 2, 28), "2025-02"),
    ("2025", "previous_year", D(2024, 1, 1), D(2024, 12, 31), "2024"),
    ("2025-11-03..2025-11-09", "previous", D(2025, 10, 27), D(2025, 11, 2), "2025-10-27..2025-11-02"),
    ("2025-11", "2025-06", D(2025, 6, 1), D(2025, 6, 30), "2025-06"),
])
def test_comparison_periods(period, compare, start, end, label):
    base = comparison_period(read_period(period), compare)
    assert (base.start, base.end, base.label) == (start, end, label)


@pytest.mark.parametrize("text, words", [
    ("November", "is not a period: write it as 2025-11"),
    ("2025-13", "is not a period"),
    ("2025-02-30..2025-03-01", "names a day that does not exist"),
    ("2025-11-09..2025-11-03", "ends before it starts"),
])
def test_a_bad_period_says_how_to_write_it(text, words):
    with pytest.raises(ValueError, match=words):
        read_period(text)


def test_a_comparison_after_or_overlapping_the_period_is_refused():
    period = read_period("2025-06")
    for later in ("2025-07", "2025-06", "2025-05-15..2025-06-10"):
        with pytest.raises(ValueError, match="must end before the period 2025-06 starts"):
            check_periods(period, comparison_period(period, later))
    check_periods(period, comparison_period(period, "previous"))
