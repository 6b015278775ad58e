"""The CDNOW sample (Fader, Hardie & Lee 2005) as shipped inside the `lifetimes` package (a test extra).

Found with ``importlib.util.find_spec`` so that the unmaintained package is never imported for its data;
tests skip with the reason when it is not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

CALIBRATION_END = pd.Timestamp("1997-09-30")  # 39 weeks after the sample's first purchases (1 January 1997)
HOLDOUT_END = pd.Timestamp("1998-06-30")      # the 39 weeks after


def dataset(name: str) -> Path:
    spec = importlib.util.find_spec("lifetimes")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "datasets" / name
        if path.is_file():
            return path
    pytest.skip(f"the CDNOW file lifetimes/datasets/{name} was not found: install the test extra "
                "(`pip install -e .[test]`, which brings `lifetimes`)")


def summary() -> pd.DataFrame:
    """The published calibration summary: ID, frequency, recency, T (weeks), monetary (mean repeat spend, $)."""
    frame = pd.read_csv(dataset("cdnow_customers_summary_with_transactions.csv"))
    return frame.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary"})


def transactions() -> pd.DataFrame:
    """The 6,919 purchases of the 2,357 sampled customers: member_id, day, amount ($)."""
    frame = pd.read_csv(dataset("CDNOW_sample.txt"), sep=r"\s+", header=None,
                        names=["master_id", "member_id", "day", "cds", "amount"])
    frame["day"] = pd.to_datetime(frame["day"].astype(str), format="%Y%m%d").dt.date
    return frame[["member_id", "day", "amount"]]
