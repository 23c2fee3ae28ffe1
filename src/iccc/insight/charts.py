"""Server-drawn SVG charts over time: bands (intervals), lines, bars, dots, reference lines.

A `TimeChart` is plain geometry (paths and coordinates) that `insight/_chart.html` draws; no
JavaScript, so charts work with the CSP, print, and render the same on a phone (the SVG scales).
Every chart also carries `summary`, a sentence a screen reader gets instead of the picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

DAY = timedelta(days=1)
WIDTH, HEIGHT = 640, 300
# Sizes of the viewBox for a full-width chart, one in two columns and one in three: the SVG scales
# to its box, so a smaller viewBox keeps the text legible where the chart is drawn small.
FULL, HALF, THIRD = (1100, 420), (640, 300), (440, 300)
LEFT, RIGHT, TOP, BOTTOM = 62, 16, 18, 40
LEFT_FULL, TOP_FULL = 92, 52  # a full-width chart's labels are drawn larger on phones: more room for them
TOP_SMALL = 28


@dataclass(frozen=True)
class Shape:
    """One drawn element: a path (`d`) or a rectangle/circle (x, y, w, h / r)."""

    css: str
    d: str = ""
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    title: str = ""


@dataclass(frozen=True)
class RefLine:
    css: str
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    label_x: float
    label_y: float
    anchor: str = "end"
    dy: str = "0"  # in em: the label keeps its distance from the line at any text size


@dataclass
class TimeChart:
    title: str
    summary: str
    size: str = "half"  # "full", "half" or "third": sets the text size on phones (insight.css)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    y_label: str = ""
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    bands: list[Shape] = field(default_factory=list)
    bars: list[Shape] = field(default_factory=list)
    lines: list[Shape] = field(default_factory=list)
    dots: list[Shape] = field(default_factory=list)
    refs: list[RefLine] = field(default_factory=list)


def nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above `value` (an axis top a person can read)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * exp >= value * 0.999:
            return float(m * exp)
    return float(10 * exp)


def _num(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 10_000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


class ChartBuilder:
    """Maps days and values onto the plot area and collects shapes; `build()` returns the chart."""

    def __init__(
        self,
        start: date,
        end: date,
        y_max: float,
        *,
        title: str,
        summary: str = "",
        y_label: str = "",
        date_label: Callable[[date], str] = lambda d: d.strftime("%d %b"),
        y_min: float = 0.0,
        width: int = WIDTH,
        height: int = HEIGHT,
    ) -> None:
        self.start = start
        self.end = max(end, start + DAY)
        self.y_min = y_min
        self.y_max = nice_max(y_max - y_min) + y_min if y_max > y_min else y_min + 1.0
        self.chart = TimeChart(
            title=title,
            summary=summary,
            size="full" if width >= FULL[0] else ("third" if width <= THIRD[0] else "half"),
            y_label=y_label,
            width=width,
            left=LEFT_FULL if width >= FULL[0] else LEFT,
            top=TOP_FULL if width >= FULL[0] else TOP_SMALL,
            right=width - RIGHT,
            height=height,
            bottom=height - BOTTOM,
        )
        self.date_label = date_label
        self.span = (self.end - self.start).days

    # -------------------------------------------------------------- coordinates
    def x(self, day: date, offset: float = 0.0) -> float:
        plot = self.chart.right - self.chart.left
        return round(self.chart.left + plot * ((day - self.start).days + offset) / max(self.span, 1), 1)

    def y(self, value: float) -> float:
        plot = self.chart.bottom - self.chart.top
        v = min(max(value, self.y_min), self.y_max)
        return round(self.chart.bottom - plot * (v - self.y_min) / (self.y_max - self.y_min), 1)

    def day_width(self) -> float:
        return (self.chart.right - self.chart.left) / max(self.span, 1)

    # -------------------------------------------------------------- shapes
    def band(
        self, days: Sequence[date], lower: Sequence[float | None], upper: Sequence[float | None], css: str
    ) -> None:
        """A filled interval; gaps (None) split it into pieces."""
        for piece in _runs(days, lower, upper):
            top = [f"{self.x(d)},{self.y(hi)}" for d, _lo, hi in piece]
            bottom = [f"{self.x(d)},{self.y(lo)}" for d, lo, _hi in reversed(piece)]
            self.chart.bands.append(Shape(css, d="M" + " L".join(top + bottom) + " Z"))

    def line(self, days: Sequence[date], values: Sequence[float | None], css: str, title: str = "") -> None:
        for piece in _runs(days, values, values):
            pts = [f"{self.x(d)},{self.y(v)}" for d, v, _ in piece]
            if len(pts) == 1:
                d, v, _ = piece[0]
                self.chart.dots.append(Shape(css + " dot", x=self.x(d), y=self.y(v), w=3, title=title))
            else:
                self.chart.lines.append(Shape(css, d="M" + " L".join(pts), title=title))

    def bars(self, days: Sequence[date], values: Sequence[float | None], css: str, titles: Sequence[str] = ()) -> None:
        w = max(self.day_width() * 0.8, 1.0)
        for i, (d, v) in enumerate(zip(days, values, strict=False)):
            if v is None or v <= 0:
                continue
            top = self.y(v)
            self.chart.bars.append(
                Shape(
                    css,
                    x=round(self.x(d) - w / 2, 1),
                    y=top,
                    w=round(w, 1),
                    h=round(self.chart.bottom - top, 1),
                    title=titles[i] if i < len(titles) else "",
                )
            )

    def stacked_bars(
        self, days: Sequence[date], base: Sequence[float], extra: Sequence[float], css: str, titles: Sequence[str] = ()
    ) -> None:
        """Bars from `base` up to `base + extra` (e.g. the nowcast's expected late results)."""
        w = max(self.day_width() * 0.8, 1.0)
        for i, (d, b, e) in enumerate(zip(days, base, extra, strict=False)):
            if e <= 0:
                continue
            top, bottom = self.y(b + e), self.y(b)
            self.chart.bars.append(
                Shape(css, x=round(self.x(d) - w / 2, 1), y=top, w=round(w, 1), h=round(bottom - top, 1),
                      title=titles[i] if i < len(titles) else "")
            )  # fmt: skip

    def whiskers(self, days: Sequence[date], lower: Sequence[float], upper: Sequence[float], css: str) -> None:
        for d, lo, hi in zip(days, lower, upper, strict=False):
            if hi > lo:
                x = self.x(d)
                self.chart.lines.append(Shape(css, d=f"M{x},{self.y(lo)} L{x},{self.y(hi)}"))

    def dots(self, days: Sequence[date], values: Sequence[float | None], css: str, titles: Sequence[str] = ()) -> None:
        for i, (d, v) in enumerate(zip(days, values, strict=False)):
            if v is not None:
                self.chart.dots.append(
                    Shape(css, x=self.x(d), y=self.y(v), w=4, title=titles[i] if i < len(titles) else "")
                )

    def hline(self, value: float, css: str, label: str) -> None:
        y = self.y(value)
        c = self.chart
        c.refs.append(RefLine(css, c.left, y, c.right, y, label, c.right - 4, y, dy="-0.4em"))

    def vline(self, day: date, css: str, label: str, anchor: str = "start") -> None:
        x = self.x(day)
        c = self.chart
        lx = x + 4 if anchor == "start" else x - 4
        c.refs.append(RefLine(css, x, c.top, x, c.bottom, label, lx, c.top, anchor, dy="0.9em"))

    # -------------------------------------------------------------- axes
    def build(self) -> TimeChart:
        c = self.chart
        c.y_ticks = [
            (
                self.y(self.y_min + (self.y_max - self.y_min) * k / 4),
                _num(self.y_min + (self.y_max - self.y_min) * k / 4),
            )
            for k in range(5)
        ]
        step = _tick_step(self.span)
        ticks = []
        d = self.start
        if step >= 28:  # month starts
            d = date(d.year, d.month, 1)
            while d <= self.end:
                if d >= self.start:
                    ticks.append((self.x(d), self.date_label(d)))
                d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        else:
            d = self.start + timedelta(days=(7 - self.start.weekday()) % 7)  # Mondays
            while d <= self.end:
                ticks.append((self.x(d), self.date_label(d)))
                d += step * DAY
        c.x_ticks = ticks
        return c


def _tick_step(span: int) -> int:
    if span <= 21:
        return 7
    if span <= 70:
        return 14
    return 28


def _runs(
    days: Sequence[date], a: Sequence[float | None], b: Sequence[float | None]
) -> list[list[tuple[date, float, float]]]:
    """Consecutive points where both values are known."""
    out: list[list[tuple[date, float, float]]] = []
    cur: list[tuple[date, float, float]] = []
    for d, x, y in zip(days, a, b, strict=False):
        if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
            if cur:
                out.append(cur)
            cur = []
            continue
        cur.append((d, float(x), float(y)))
    if cur:
        out.append(cur)
    return out


def days_from(start: date, n: int) -> list[date]:
    return [start + i * DAY for i in range(n)]
