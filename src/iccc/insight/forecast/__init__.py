"""Weekly case forecasts (Forecast Hub format), the Hub baseline, and their scoring.

Pure computation (numpy/scipy, no Django): `forecast_weekly`, `baseline_forecast`, `wis`,
`evaluate` and `evaluate_many`. docs/analytics.md describes the model and its evaluation.
"""

from .baseline import baseline_forecast, baseline_quantiles
from .evaluate import (
    DEFAULT_MIN_WEEKS,
    HorizonScore,
    MultiEvaluation,
    RollingForecast,
    evaluate,
    evaluate_many,
    rolling_forecasts,
)
from .model import MIN_WEEKS, forecast_quantiles, forecast_weekly
from .scoring import covered, interval_score, wis, wis_array
from .weekly import QUANTILES, WeeklyForecast, last_saturday, weekly_totals

__all__ = [
    "DEFAULT_MIN_WEEKS",
    "MIN_WEEKS",
    "QUANTILES",
    "HorizonScore",
    "MultiEvaluation",
    "RollingForecast",
    "WeeklyForecast",
    "baseline_forecast",
    "baseline_quantiles",
    "covered",
    "evaluate",
    "evaluate_many",
    "forecast_quantiles",
    "forecast_weekly",
    "interval_score",
    "last_saturday",
    "rolling_forecasts",
    "weekly_totals",
    "wis",
    "wis_array",
]
