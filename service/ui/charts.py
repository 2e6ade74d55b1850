"""Charts drawn on the server: inline SVG, and rate bars as plain HTML, so their text is read at the page's size;
nothing to download or build, and readable by screen readers (each chart has a title and the page keeps its numbers
in a table next to it).

Every text that ends up in the markup goes through :func:`markupsafe.escape`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from service.ui.queries import HotSpot

# Distinguishable for the common colour-vision deficiencies (Okabe-Ito).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000")


@dataclass(frozen=True)
class Series:
    """One stacked layer of a bar chart: its name and a value per category."""

    name: str
    values: Sequence[int]


def _nice_max(value: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``value`` (an axis top with round ticks)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 < value:
        step *= 10
    return next(m * step for m in (1, 2, 5, 10) if m * step >= value)


def _svg(width: int, height: int, title: str, body: list[str], cls: str) -> Markup:
    head = (
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def stacked_bars(categories: Sequence[str], series: Sequence[Series], title: str) -> Markup:
    """Vertical bars, one per category, each split into ``series``; a legend underneath."""
    width, height, left, top, bottom = 640, 300, 40, 12, 70
    plot_h, plot_w = height - top - bottom, width - left - 10
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top_value = _nice_max(max(totals, default=0))
    body: list[str] = []
    for k in range(5):  # horizontal grid lines with their values
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        body.append(f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.6
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for j, s in enumerate(series):
            value = s.values[i]
            if not value:
                continue
            h = plot_h * value / top_value
            y -= h
            tip = escape(f"{category} · {s.name}: {value}")
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{tip}</title></rect>'
            )
        label = escape(category.split("-")[-1])  # "2026-W07" -> "W07": the year is in the table
        body.append(f'<text class="tick" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">')
        body.append(f"{label}</text>")
    for j, s in enumerate(series):  # legend, two columns
        lx, ly = left + (j % 2) * (plot_w / 2), top + plot_h + 30 + (j // 2) * 16
        body.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>')
        body.append(f'<text class="legend" x="{lx + 14:.1f}" y="{ly}">{escape(s.name)}</text>')
    return _svg(width, height + max(0, (len(series) - 1) // 2 - 1) * 16, title, body, "bars")


def rate_bars(rows: Sequence[tuple[str, float | None]], title: str) -> Markup:
    """Horizontal bars of rates in [0, 1], labelled with percentages; a rate of None is shown as a dash.

    HTML rather than SVG: the names and percentages are page text at the page's size, whatever the card's width
    (an SVG scaled down to a narrow card once drew them about 6 px high).
    """
    items: list[str] = []
    for name, rate in rows:
        width = 0.0 if rate is None else 100 * min(max(rate, 0.0), 1.0)
        text = "-" if rate is None else f"{rate:.0%}"
        items.append(
            f'<li><span class="rate-name">{escape(name)}</span>'
            f'<span class="rate-track" aria-hidden="true"><span class="rate-fill" style="width: {width:.1f}%">'
            f'</span></span><span class="rate-value">{text}</span></li>'
        )
    return Markup(f'<ul class="rates" aria-label="{escape(title)}">{"".join(items)}</ul>')


def point_map(
    points: Sequence[HotSpot], outlines: Sequence[tuple[str, Sequence[tuple[float, float]]]], title: str
) -> Markup:
    """Points on a plain equirectangular map (circle area ~ count) over the grids' (lon, lat) outlines."""
    width, height, pad = 640, 360, 24
    lons = [p.lon for p in points] + [x for _, poly in outlines for x, _ in poly]
    lats = [p.lat for p in points] + [y for _, poly in outlines for _, y in poly]
    if not lons:
        return _svg(width, height, title, [], "map")
    lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
    span = max(lon1 - lon0, lat1 - lat0, 1e-4)  # one scale for both axes; a single point still gets room
    scale = min(width - 2 * pad, height - 2 * pad) / span

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return pad + (lon - lon0) * scale, height - pad - (lat - lat0) * scale

    body: list[str] = []
    for name, poly in outlines:
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(lon, lat) for lon, lat in poly))
        body.append(f'<polygon class="outline" points="{pts}"><title>{escape(name)}</title></polygon>')
    top = max((p.count for p in points), default=1)
    for p in points:
        x, y = xy(p.lon, p.lat)
        r = 5 + 15 * (p.count / top) ** 0.5
        tip = escape(f"{p.name}: {p.count}")
        body.append(f'<circle class="spot" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"><title>{tip}</title></circle>')
        body.append(f'<text class="legend" x="{x + r + 3:.1f}" y="{y + 4:.1f}">{escape(p.name)}</text>')
    return _svg(width, height, title, body, "map")


def heat_colour(count: int, top: int) -> str:
    """A background from white (0) to deep orange (``top``) for a heat-table cell."""
    share = count / top if top else 0.0
    return f"rgba(213, 94, 0, {0.08 + 0.85 * share:.2f})" if count else "transparent"
