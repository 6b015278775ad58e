"""Customer lifetime value (客户终身价值): the BG/NBD model of repeat purchases and the Gamma-Gamma model of spend.

    from workbench.members.lifetime import fit_bgnbd, fit_gamma_gamma
    bg = fit_bgnbd(summary)                    # summary: frequency, recency, T (weeks), monetary
    bg.p_alive(summary)                        # P(still a customer) per member
    bg.conditional_expected_purchases(summary, 13)   # repeat purchases expected in the next 13 weeks
    gg = fit_gamma_gamma(summary)
    clv(bg, gg, summary, months=12, monthly_discount=0.01)

**BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a customer buys
at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop out with probability p ~ Beta(a, b). It
needs, per customer, ``frequency`` (repeat purchases: purchases after the first), ``recency`` (time from the
first to the last purchase) and ``T`` (time from the first purchase to the end of the calibration period),
here in weeks. Why this model: it needs only those three numbers, separates "buys rarely" from "has left"
(P(alive)), and its parameters are published on the CDNOW sample, which the tests reproduce.

**Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013 note): a customer's spend per
transaction varies around their own mean, Gamma(p, ν) with ν ~ Gamma(q, γ); fitted on customers with at
least one repeat purchase, from their number of repeat purchases and mean repeat spend. It assumes spend
does not depend on frequency (check :func:`spend_frequency_correlation` before trusting CLV).

Both are fitted by maximum likelihood with :func:`scipy.optimize.minimize` on the logarithms of the
parameters (so they stay positive without bounds), with log-gamma / log-beta functions throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

__all__ = ["BgNbdParams", "GammaGammaParams", "fit_bgnbd", "fit_gamma_gamma", "clv", "as_frame",
           "spend_frequency_correlation", "LifetimeFitError", "WEEKS_PER_MONTH"]

WEEKS_PER_MONTH = 52 / 12
SUMMARY = ("frequency", "recency", "T")


class LifetimeFitError(ValueError):
    """A summary the models cannot be fitted on (missing columns, impossible values, too few customers)."""


def as_frame(summary: Any, columns: tuple[str, ...] = SUMMARY) -> pd.DataFrame:
    """The summary as a pandas frame with ``columns`` as floats (an ibis table is executed in the engine)."""
    frame = summary.to_pandas() if hasattr(summary, "to_pandas") and not isinstance(summary, pd.DataFrame) \
        else pd.DataFrame(summary)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LifetimeFitError(f"the summary lacks column(s) {missing}: it needs {list(columns)} "
                               "(workbench.members.summary.purchase_summary makes one)")
    out = frame.copy()
    out[list(columns)] = out[list(columns)].astype("float64")
    return out


def _check_rft(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    bad = (x < 0) | (t_x < 0) | (t_x > T + 1e-9) | ((x == 0) & (t_x > 0)) | ~np.isfinite(x + t_x + T)
    if bad.any():
        raise LifetimeFitError(f"{int(bad.sum())} customer(s) have impossible values: frequency >= 0, "
                               "0 <= recency <= T, and recency 0 when frequency is 0")


def _log_sum(log_a: np.ndarray, log_b: np.ndarray, use_b: np.ndarray) -> np.ndarray:
    """log(exp(log_a) + use_b * exp(log_b)) without overflow."""
    top = np.where(use_b, np.maximum(log_a, log_b), log_a)
    return top + np.log(np.exp(log_a - top) + np.where(use_b, np.exp(log_b - top), 0.0))


@dataclass(frozen=True)
class BgNbdParams:
    """A fitted BG/NBD model. Time is in the unit of the summary it was fitted on (weeks here)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def expected_purchases(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)]: repeat purchases a new customer makes in their first ``t`` weeks (paper eq. 9)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype="float64")
        tail = _tail(r, a, b, np.zeros_like(t), t / (alpha + t))  # (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z)
        return (a + b - 1) / (a - 1) * (1 - tail)

    def p_alive(self, summary: Any) -> np.ndarray:
        """P(alive | frequency, recency, T) per customer (paper eq. 11): 1 for anyone without a repeat purchase."""
        x, t_x, T = _arrays(summary)
        return 1 / (1 + (x > 0) * np.exp(self._log_dead_odds(x, t_x, T)))

    def _log_dead_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log[a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)] (only meaningful for x > 0)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        return np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))

    def conditional_expected_purchases(self, summary: Any, t: float) -> np.ndarray:
        """E[Y(t) | frequency, recency, T]: repeat purchases each customer is expected to make in the next ``t`` weeks.

        Paper eq. 10, with the factor ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z) from :func:`_tail`.
        """
        x, t_x, T = _arrays(summary)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        tail = _tail(r, a, b, x, t / (alpha + T + t))
        first = (a + b + x - 1) / (a - 1) * (1 - tail)
        return first / (1 + (x > 0) * np.exp(self._log_dead_odds(x, t_x, T)))


def _tail(r: float, a: float, b: float, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(1-z)^(r+x) · 2F1(r+x, b+x; a+b+x-1; z), computed as (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z) (Euler's
    transformation: the numerator parameters no longer grow with x, so frequent buyers do not overflow the series).
    Where that gives no number -- a and b in the tens of thousands, a drop-out probability the fit pinned down,
    when (1-z)^(a-1) underflows while the series overflows -- the direct form, which is then well behaved."""
    c = a + b + x - 1
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        euler = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        bad = ~np.isfinite(euler)
        if np.any(bad):
            euler = np.where(bad, (1 - z) ** (r + x) * hyp2f1(r + x, b + x, c, z), euler)
    return euler


@dataclass(frozen=True)
class GammaGammaParams:
    """A fitted Gamma-Gamma spend model (``q`` must exceed 1 for the expected spend to exist)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    def expected_spend(self, summary: Any) -> np.ndarray:
        """E[spend per transaction | frequency, monetary]: the population mean shrunk towards each customer's.

        A customer without repeat purchases gets the population mean p·γ / (q − 1).
        """
        frame = as_frame(summary, ("frequency", "monetary"))
        x, m = frame["frequency"].to_numpy(), frame["monetary"].fillna(0).to_numpy()
        p, q, g = self.p, self.q, self.gamma
        return (g + m * x) * p / (p * x + q - 1)


def _arrays(summary: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frame = as_frame(summary)
    return tuple(frame[c].to_numpy() for c in SUMMARY)  # type: ignore[return-value]


def bgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood under BG/NBD (r, α, a, b) (paper eq. 6, in logs)."""
    r, alpha, a, b = params
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    dropped = np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x)
    return common + _log_sum(alive, dropped, x > 0)


def _fit(neg_ll, start: np.ndarray, what: str) -> np.ndarray:
    """Minimise over log-parameters; Nelder-Mead polishes what BFGS leaves (the surfaces are flat near the optimum)."""
    best = minimize(neg_ll, np.log(start), method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
    best = minimize(neg_ll, best.x, method="Nelder-Mead",
                    options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
    if not np.all(np.isfinite(best.x)) or not np.isfinite(best.fun):
        raise LifetimeFitError(f"the {what} fit did not converge ({best.message}): too few customers or "
                               "too little repeat buying in the summary")
    return np.exp(best.x)


def fit_bgnbd(summary: Any, start: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> BgNbdParams:
    """Fit BG/NBD by maximum likelihood on a summary with ``frequency``, ``recency`` and ``T``."""
    x, t_x, T = _arrays(summary)
    if len(x) < 4 or not (x > 0).any():
        raise LifetimeFitError(f"BG/NBD needs several customers and some repeat purchases; got {len(x)} "
                               f"customer(s), {int((x > 0).sum())} with a repeat purchase")
    _check_rft(x, t_x, T)
    n = len(x)

    def neg_ll(log_params: np.ndarray) -> float:
        value = -bgnbd_log_likelihood(np.exp(log_params), x, t_x, T).sum() / n
        return value if np.isfinite(value) else 1e12

    r, alpha, a, b = _fit(neg_ll, np.array(start), "BG/NBD")
    ll = float(bgnbd_log_likelihood(np.array([r, alpha, a, b]), x, t_x, T).sum())
    return BgNbdParams(float(r), float(alpha), float(a), float(b), ll, n)


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each customer's log-likelihood of their mean repeat spend ``m`` over ``x`` repeat purchases (x > 0)."""
    p, q, g = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m)
            + px * np.log(x) - (px + q) * np.log(g + m * x))


def fit_gamma_gamma(summary: Any, start: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> GammaGammaParams:
    """Fit Gamma-Gamma on the customers with a repeat purchase and a positive mean repeat spend (``monetary``)."""
    frame = as_frame(summary, ("frequency", "monetary"))
    used = frame[(frame["frequency"] > 0) & (frame["monetary"] > 0)]
    if len(used) < 3:
        raise LifetimeFitError(f"Gamma-Gamma needs customers with repeat purchases and positive spend; "
                               f"{len(used)} of {len(frame)} have both")
    x, m = used["frequency"].to_numpy(), used["monetary"].to_numpy()

    def neg_ll(log_params: np.ndarray) -> float:
        value = -gamma_gamma_log_likelihood(np.exp(log_params), x, m).sum() / len(x)
        return value if np.isfinite(value) else 1e12

    p, q, g = _fit(neg_ll, np.array(start), "Gamma-Gamma")
    ll = float(gamma_gamma_log_likelihood(np.array([p, q, g]), x, m).sum())
    return GammaGammaParams(float(p), float(q), float(g), ll, len(x))


def spend_frequency_correlation(summary: Any) -> float:
    """Pearson correlation of frequency and mean repeat spend among repeat buyers (Gamma-Gamma assumes ~0)."""
    frame = as_frame(summary, ("frequency", "monetary"))
    used = frame[frame["frequency"] > 0]
    return float(used["frequency"].corr(used["monetary"])) if len(used) > 2 else float("nan")


def clv(bgnbd: BgNbdParams, spend: GammaGammaParams, summary: Any, months: int = 12,
        monthly_discount: float = 0.01, margin: float = 1.0) -> np.ndarray:
    """Discounted lifetime value over the next ``months``: each month's expected purchases × expected spend.

    Month i contributes (E[Y(i·m)] − E[Y((i−1)·m)]) · E[spend] · margin / (1 + d)^i with m a month in weeks,
    the usual discrete form (the closed-form DERT of Fader, Hardie & Lee belongs to the Pareto/NBD).
    ``margin`` turns spend into profit where the caller knows it (1.0: value in sales).
    """
    value = spend.expected_spend(summary) * margin
    total = np.zeros(len(value))
    before = np.zeros(len(value))
    for month in range(1, months + 1):
        upto = bgnbd.conditional_expected_purchases(summary, month * WEEKS_PER_MONTH)
        total += (upto - before) * value / (1 + monthly_discount) ** month
        before = upto
    return total
