"""How big the simulated chain is: ``tiny`` for tests, ``demo`` by default, ``large`` to stress engines.

The calendar windows are fixed dates, not relative to today, so a warehouse
built next year is identical to one built today. The simulation itself starts
about a year before the window (the warm-up): that year's sales are not
written, but they leave the realistic carry-in stock, broken size runs and
old-season leftovers that the window opens with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Scale:
    """The knobs that differ between scales; everything else is shared behaviour."""

    name: str
    start: date  # first day written (window start)
    end: date  # last day written
    grades: tuple[int, int, int]  # own stores graded A, B, C
    outlets: int
    consignment: int  # counters in department stores (代销专柜)
    openings: int  # own stores that open during the window
    skcs_per_season: int  # style-colours per SS / AW season
    basics: int  # year-round style-colours (BASIC)
    units_per_store_day: float  # demand of an average own store on an ordinary day
    online_share: float  # online units as a share of the physical stores' units
    cases_per_kind_year: int  # planted irregularities of each kind per year
    flush_rows: int  # rows buffered per table before a write

    @property
    def sim_start(self) -> date:
        """Warm-up start: 1 February of the year before the window, before the first SS launch."""
        return date(self.start.year - 1, 2, 1)

    @property
    def own_stores(self) -> int:
        return sum(self.grades)

    @property
    def physical_stores(self) -> int:
        return self.own_stores + self.outlets + self.consignment


SCALES: dict[str, Scale] = {
    "tiny": Scale(
        name="tiny", start=date(2025, 1, 1), end=date(2025, 12, 31),
        grades=(2, 3, 1), outlets=1, consignment=1, openings=1,
        skcs_per_season=24, basics=12, units_per_store_day=30.0, online_share=0.12,
        cases_per_kind_year=8, flush_rows=25_000,
    ),
    "demo": Scale(
        name="demo", start=date(2024, 1, 1), end=date(2025, 12, 31),
        grades=(14, 32, 24), outlets=8, consignment=18, openings=4,
        skcs_per_season=300, basics=150, units_per_store_day=60.0, online_share=0.10,
        cases_per_kind_year=40, flush_rows=500_000,
    ),
    "large": Scale(
        name="large", start=date(2024, 1, 1), end=date(2025, 12, 31),
        grades=(90, 170, 120), outlets=30, consignment=70, openings=12,
        skcs_per_season=600, basics=300, units_per_store_day=370.0, online_share=0.04,
        cases_per_kind_year=200, flush_rows=1_000_000,
    ),
}


def get_scale(name: str) -> Scale:
    """The scale called ``name``; an unknown name gets a message listing the valid ones."""
    try:
        return SCALES[name]
    except KeyError:
        valid = ", ".join(SCALES)
        raise ValueError(f"unknown scale {name!r}: choose one of {valid}") from None
