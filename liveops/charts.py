"""Server-rendered SVG charts for the admin: series in, SVG text out.

No JavaScript and no CDN, so the admin's charts work without internet access. Every label is
XML-escaped; the output is a standalone `<svg>` element that can be inlined in a page (mark it
safe there) or served as `image/svg+xml`. Functions are pure: same input, same SVG.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

# Okabe-Ito palette: distinguishable for colour-blind readers.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")
MARK_COLOUR = "#d00000"

_MARGIN_LEFT = 64
_MARGIN_RIGHT = 16
_MARGIN_TOP = 36
_MARGIN_BOTTOM = 48
_LEGEND_ROW = 18


@dataclass(frozen=True)
class Series:
    """One line or bar series; `values[i]` belongs to the i-th x label, None is a gap.

    `marked` holds indices of points to highlight (for example ROAS anomalies).
    """

    name: str
    values: Sequence[float | int | None]
    marked: frozenset[int] = field(default_factory=frozenset)


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: float) -> str:
    """Coordinates with two decimals at most, without a trailing `.0`."""
    rounded = round(value, 2)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.2f}".rstrip("0")


def format_value(value: float) -> str:
    """Axis and tooltip numbers: thousands separated, at most 4 significant decimals."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times 10^k) covering [low, high], including 0 when the
    range contains it."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("tick bounds must be finite")
    if low > high:
        low, high = high, low
    if low == high:
        if low == 0:
            high = 1.0
        else:
            low, high = min(0.0, low), max(0.0, high)
    raw_step = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high:
        ticks.append(round(start + step * len(ticks), 10))
    return ticks


def _value_range(series: Sequence[Series], *, include_zero: bool) -> tuple[float, float]:
    values = [float(v) for s in series for v in s.values if v is not None]
    if include_zero:
        values.append(0.0)
    if not values:
        return 0.0, 1.0
    return min(values), max(values)


def _frame(
    *, title: str, width: int, height: int, legend_rows: int, description: str
) -> tuple[list[str], int]:
    """The opening of the SVG: size, accessible title, background, chart title."""
    total_height = height + legend_rows * _LEGEND_ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" '
        f'viewBox="0 0 {width} {total_height}" role="img" aria-label="{_text(title)}" '
        f'font-family="sans-serif" font-size="11">',
        f"<title>{_text(title)}</title>",
        f"<desc>{_text(description)}</desc>",
        f'<rect x="0" y="0" width="{width}" height="{total_height}" fill="#ffffff"/>',
        f'<text x="{_MARGIN_LEFT}" y="20" font-size="13" font-weight="bold" fill="#222">'
        f"{_text(title)}</text>",
    ]
    return parts, total_height


def _y_axis(
    parts: list[str], *, ticks: list[float], y_of, width: int, y_label: str, plot_top: int
) -> None:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    for tick in ticks:
        y = _number(y_of(tick))
        parts.append(
            f'<line x1="{_MARGIN_LEFT}" y1="{y}" x2="{width - _MARGIN_RIGHT}" y2="{y}" '
            f'stroke="{"#888" if tick == 0 else "#e4e4e4"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_MARGIN_LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" '
            f'fill="#444">{tick:,.{decimals}f}</text>'
        )
    if y_label:
        parts.append(
            f'<text x="12" y="{plot_top}" fill="#444" transform="rotate(-90 12 {plot_top})" '
            f'text-anchor="end">{_text(y_label)}</text>'
        )


def _x_labels(parts: list[str], *, labels: Sequence[str], x_of, baseline: float) -> None:
    """At most ~12 labels are written so they never overlap; every point keeps its tooltip."""
    stride = max(1, math.ceil(len(labels) / 12))
    last = len(labels) - 1
    for index, label in enumerate(labels):
        if index != last and (index % stride or last - index < stride):
            continue
        x = _number(x_of(index))
        parts.append(
            f'<text x="{x}" y="{_number(baseline + 16)}" text-anchor="middle" fill="#444">'
            f"{_text(label)}</text>"
        )


def _legend_layout(
    series: Sequence[Series], *, width: int, marked_label: str
) -> list[tuple[int, int, str, str]]:
    """(x, row, colour or "mark", text) of each legend item, wrapped to the chart's width."""
    items = [(PALETTE[i % len(PALETTE)], item.name) for i, item in enumerate(series)]
    if marked_label and any(item.marked for item in series):
        items.append(("mark", marked_label))
    layout = []
    x, row = _MARGIN_LEFT, 0
    for colour, text in items:
        item_width = 24 + 7 * len(text)
        if x > _MARGIN_LEFT and x + item_width > width - _MARGIN_RIGHT:
            x, row = _MARGIN_LEFT, row + 1
        layout.append((x, row, colour, text))
        x += item_width
    return layout


def _legend(parts: list[str], *, layout: list[tuple[int, int, str, str]], top: int) -> None:
    for x, row, colour, text in layout:
        y = top + row * _LEGEND_ROW
        if colour == "mark":
            parts.append(
                f'<circle cx="{x + 5}" cy="{y - 4}" r="5" fill="none" stroke="{MARK_COLOUR}" '
                f'stroke-width="2"/>'
            )
            parts.append(f'<text x="{x + 14}" y="{y}" fill="{MARK_COLOUR}">{_text(text)}</text>')
        else:
            parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
            parts.append(f'<text x="{x + 14}" y="{y}" fill="#222">{_text(text)}</text>')


def _runs(
    values: Sequence[float | int | None],
    *,
    x_of: Callable[[int], float],
    y_of: Callable[[float], float],
) -> list[str]:
    """The `points` of each polyline: a gap (None) ends a run, and a run of one value draws no
    line (its point is drawn on its own)."""
    runs: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        runs[-1].append(f"{_number(x_of(index))},{_number(y_of(float(value)))}")
    return [" ".join(run) for run in runs if len(run) > 1]


def _require_lengths(series: Sequence[Series], x_labels: Sequence[str]) -> None:
    for item in series:
        if len(item.values) != len(x_labels):
            raise ValueError(
                f"series {item.name!r} has {len(item.values)} values, expected {len(x_labels)}"
            )


def _plot_start(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    unit: str,
    marked_label: str,
    y_label: str,
    ticks: list[float],
    x_of: Callable[[int], float],
    y_of: Callable[[float], float],
    box: tuple[int, int, int, int],
) -> tuple[list[str], list[tuple[int, int, str, str]]]:
    """The parts every chart shares: frame, y axis, x labels, and "no data" when empty."""
    width, height, plot_top, plot_bottom = box
    values_total = sum(1 for s in series for v in s.values if v is not None)
    legend = _legend_layout(series, width=width, marked_label=marked_label)
    parts, _ = _frame(
        title=title,
        width=width,
        height=height,
        legend_rows=legend[-1][1] + 1 if legend else 0,
        description=f"{len(series)} series over {len(x_labels)} {unit} ({values_total} values)",
    )
    _y_axis(parts, ticks=ticks, y_of=y_of, width=width, y_label=y_label, plot_top=plot_top)
    _x_labels(parts, labels=x_labels, x_of=x_of, baseline=plot_bottom)
    if values_total == 0:
        parts.append(
            f'<text x="{width // 2}" y="{(plot_top + plot_bottom) // 2}" text-anchor="middle" '
            f'fill="#888">no data</text>'
        )
    return parts, legend


def line_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_label: str = "",
    marked_label: str = "anomaly",
    width: int = 720,
    height: int = 260,
) -> str:
    """A line chart of one or more series over shared x labels (days, usually).

    Gaps (None) break the line; marked points are circled in red and named in the legend.
    """
    _require_lengths(series, x_labels)
    low, high = _value_range(series, include_zero=True)
    ticks = nice_ticks(low, high)
    y_min, y_max = ticks[0], ticks[-1]
    plot_top, plot_bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM
    plot_left, plot_right = _MARGIN_LEFT + 8, width - _MARGIN_RIGHT - 8
    span = max(1, len(x_labels) - 1)

    def x_of(index: int) -> float:
        if len(x_labels) == 1:
            return (plot_left + plot_right) / 2
        return plot_left + (plot_right - plot_left) * index / span

    def y_of(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * (value - y_min) / (y_max - y_min)

    parts, legend = _plot_start(
        title=title,
        x_labels=x_labels,
        series=series,
        unit="points",
        marked_label=marked_label,
        y_label=y_label,
        ticks=ticks,
        x_of=x_of,
        y_of=y_of,
        box=(width, height, plot_top, plot_bottom),
    )

    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        for points in _runs(item.values, x_of=x_of, y_of=y_of):
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>'
            )
        for position, value in enumerate(item.values):
            if value is None:
                continue
            cx, cy = _number(x_of(position)), _number(y_of(float(value)))
            tooltip = f"{item.name} {x_labels[position]}: {format_value(float(value))}"
            if position in item.marked:
                parts.append(
                    f'<circle class="mark" cx="{cx}" cy="{cy}" r="6" fill="none" '
                    f'stroke="{MARK_COLOUR}" stroke-width="2"><title>{_text(tooltip)} '
                    f"({_text(marked_label)})</title></circle>"
                )
            parts.append(
                f'<circle class="point" cx="{cx}" cy="{cy}" r="2.5" fill="{colour}">'
                f"<title>{_text(tooltip)}</title></circle>"
            )

    _legend(parts, layout=legend, top=height + 8)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    *,
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    y_label: str = "",
    width: int = 720,
    height: int = 260,
) -> str:
    """Grouped bars per x label, one bar per series; negative values hang below the zero line."""
    _require_lengths(series, x_labels)
    low, high = _value_range(series, include_zero=True)
    ticks = nice_ticks(low, high)
    y_min, y_max = ticks[0], ticks[-1]
    plot_top, plot_bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM
    plot_left, plot_right = _MARGIN_LEFT + 4, width - _MARGIN_RIGHT
    slot = (plot_right - plot_left) / max(1, len(x_labels))
    bar_width = max(1.0, slot * 0.8 / max(1, len(series)))

    def x_of(index: int) -> float:
        return plot_left + slot * (index + 0.5)

    def y_of(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * (value - y_min) / (y_max - y_min)

    parts, legend = _plot_start(
        title=title,
        x_labels=x_labels,
        series=series,
        unit="groups",
        marked_label="",
        y_label=y_label,
        ticks=ticks,
        x_of=x_of,
        y_of=y_of,
        box=(width, height, plot_top, plot_bottom),
    )
    zero = y_of(0.0)
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        for position, value in enumerate(item.values):
            if value is None:
                continue
            left = x_of(position) - slot * 0.4 + bar_width * index
            top = min(zero, y_of(float(value)))
            bar_height = abs(y_of(float(value)) - zero)
            tooltip = f"{item.name} {x_labels[position]}: {format_value(float(value))}"
            parts.append(
                f'<rect class="bar" x="{_number(left)}" y="{_number(top)}" '
                f'width="{_number(bar_width)}" height="{_number(bar_height)}" fill="{colour}">'
                f"<title>{_text(tooltip)}</title></rect>"
            )
    _legend(parts, layout=legend, top=height + 8)
    parts.append("</svg>")
    return "".join(parts)


def sparkline(
    *,
    title: str,
    x_labels: Sequence[str],
    values: Sequence[float | int | None],
    width: int = 120,
    height: int = 28,
) -> str:
    """A small line without axes: the lowest value (or 0, when lower) at the bottom, the highest
    at the top; None is a gap. Each point has a tooltip "label: value"; the last is dotted."""
    if len(values) != len(x_labels):
        raise ValueError(f"sparkline {title!r} has {len(values)} values for {len(x_labels)} labels")
    present = [float(v) for v in values if v is not None]
    low = min([0.0, *present])
    high = max([low, *present])
    span = high - low or 1.0
    pad = 3
    step = (width - 2 * pad) / max(1, len(values) - 1)

    def x_of(index: int) -> float:
        return pad + step * index

    def y_of(value: float) -> float:
        return height - pad - (height - 2 * pad) * (value - low) / span

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_text(title)}">',
        f"<title>{_text(title)}</title>",
    ]
    for points in _runs(values, x_of=x_of, y_of=y_of):
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>'
        )
    for index, value in enumerate(values):
        if value is None:
            continue
        tooltip = f"{x_labels[index]}: {format_value(float(value))}"
        radius = 2 if index == len(values) - 1 else 1
        parts.append(
            f'<circle cx="{_number(x_of(index))}" cy="{_number(y_of(float(value)))}" '
            f'r="{radius}" fill="{PALETTE[0]}"><title>{_text(tooltip)}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)
