"""Epidemic analytics on daily case series: cleaning, nowcast, growth rate and Rt (Cori/EpiEstim).

Pure computation (numpy/scipy, no Django). docs/analytics.md describes every method.
"""

from .growth import Growth, growth_rate
from .nowcast import Nowcast, estimate_delay_pmf, nowcast
from .rt import RT_QUANTILES, RtWindows, discrete_si_shifted_gamma, estimate_rt, infectivity
from .series import DailySeries, SeriesError, daily_from_counts, read_district_csv, read_series_csv

__all__ = [
    "RT_QUANTILES",
    "DailySeries",
    "Growth",
    "Nowcast",
    "RtWindows",
    "SeriesError",
    "daily_from_counts",
    "discrete_si_shifted_gamma",
    "estimate_delay_pmf",
    "estimate_rt",
    "growth_rate",
    "infectivity",
    "nowcast",
    "read_district_csv",
    "read_series_csv",
]
