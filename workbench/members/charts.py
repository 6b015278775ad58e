"""Charts of the members notebook, with hvplot: what people would rather look at than read.

- :func:`holdout_chart`: BG/NBD's predicted against actual holdout purchases by calibration frequency
  (Fader, Hardie & Lee 2005, figure 4): the bars should pair up.
- :func:`segments_chart`: members per RFM segment (客户分群), largest first.
"""

from __future__ import annotations

import hvplot.pandas  # noqa: F401  (registers .hvplot on DataFrames)
import pandas as pd

SIZE = dict(width=720, height=320)


def holdout_chart(by_frequency: pd.DataFrame):
    """Mean predicted and actual holdout purchases per member, by repeat purchases in calibration."""
    frame = by_frequency.assign(frequency=by_frequency["frequency"].astype(str))
    return frame.hvplot.bar(x="frequency", y=["predicted", "actual"], ylabel="purchases per member in the holdout",
                            xlabel="repeat purchase days in calibration (last: that many or more)",
                            title="BG/NBD: predicted vs actual", legend="top_left", **SIZE)


def segments_chart(counts: pd.DataFrame):
    """Members per named RFM segment, with the Chinese name, largest first."""
    frame = counts.assign(label=counts["segment"] + " " + counts["segment_zh"]).sort_values("members")
    return frame.hvplot.barh(x="label", y="members", xlabel="", ylabel="members", title="RFM segments 客户分群",
                             **SIZE)
