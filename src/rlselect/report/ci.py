"""95% confidence intervals over seeds: the t-interval of a mean and Welch's interval of a difference of means.

A table cell "mean ± h" gives h = t(0.975, n - 1) * s / sqrt(n), s the sample std over the n seeds; with one seed
there is no interval (h is NaN). Welch's interval of mean(a) - mean(b) uses the Welch-Satterthwaite degrees of freedom;
where both samples have zero variance it is the point difference (df = n_a + n_b - 2, half-width 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

LEVEL = 0.95
TEXT = "mean ± 95% CI half-width (t-interval over seeds)"  # the words every caption and header uses


def t_quantile(df: float) -> float:
    """The two-sided 95% quantile t(0.975, df)."""
    return float(stats.t.ppf(0.5 + LEVEL / 2, df))


def half_width(std: float, n: int) -> float:
    """t(0.975, n - 1) * std / sqrt(n); NaN for n < 2 or a NaN std."""
    if n < 2 or std is None or math.isnan(std):
        return math.nan
    return t_quantile(n - 1) * std / math.sqrt(n)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample std); the std is NaN for fewer than two values."""
    n = len(values)
    mean = math.fsum(values) / n if n else math.nan
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return mean, std


@dataclass(frozen=True)
class Interval:
    """mean(a) - mean(b) with its 95% Welch interval [lo, hi] (NaN bounds with fewer than two values per side)."""

    diff: float
    lo: float
    hi: float
    df: float

    @property
    def above_zero(self) -> bool:
        return self.lo > 0  # False for NaN bounds

    @property
    def below_zero(self) -> bool:
        return self.hi < 0

    def text(self, unit: str = "") -> str:
        if math.isnan(self.lo):
            return f"difference {self.diff:+.1f}{unit} (no interval: fewer than 2 seeds)"
        return f"difference {self.diff:+.1f}{unit}, 95% CI [{self.lo:+.1f}, {self.hi:+.1f}]"


def welch(a: Sequence[float], b: Sequence[float]) -> Interval:
    """Welch's t-interval (95%) of mean(a) - mean(b) over independent seeds."""
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    diff = ma - mb
    if len(a) < 2 or len(b) < 2:
        return Interval(diff, math.nan, math.nan, math.nan)
    va, vb = sa**2 / len(a), sb**2 / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Interval(diff, diff, diff, float(len(a) + len(b) - 2))
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    h = t_quantile(df) * se
    return Interval(diff, diff - h, diff + h, df)
