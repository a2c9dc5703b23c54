"""Server-side SVG charts: drawn in Python, so they need no internet and no JavaScript.

Every chart is an <svg role="img"> with a <title> and a <desc> (its text alternative);
the table under each chart on the page holds the same figures. Colours are the
Okabe-Ito palette, readable by people with colour-vision deficiencies."""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import count
from markupsafe import Markup, escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999999", "#F0E442")
W, PAD_L, PAD_R, PAD_T, PAD_B = 760, 56, 16, 40, 56
_ids = count(1)


def _open(title: str, desc: str, height: int) -> tuple[list[str], str]:
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {height}" role="img" '
        f'aria-labelledby="{uid}-t {uid}-d" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="13">',
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>',
    ]
    return parts, uid


def _nice_max(value: float) -> float:
    """A round top for the y axis whose quarters are round too (at least 4)."""
    if value <= 4:
        return 4.0
    mag = 10 ** math.floor(math.log10(value))
    return float(next(m * mag for m in (1, 2, 4, 8, 10) if value <= m * mag))


def _legend(parts: list[str], names: Sequence[str], colours: Sequence[str]) -> None:
    x = PAD_L
    for name, colour in zip(names, colours):
        parts.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{colour}" rx="2"/>'
                     f'<text x="{x + 17}" y="21">{escape(name)}</text>')
        x += 17 + 7.5 * len(name) + 18


def _y_axis(parts: list[str], top: float, height: int, percent: bool) -> None:
    plot_h = height - PAD_T - PAD_B
    for i in range(5):
        value = top * i / 4
        y = PAD_T + plot_h - plot_h * i / 4
        label = f"{value:.0f}%" if percent else f"{value:,.0f}"
        parts.append(f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd"/><text x="{PAD_L - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end" fill="#444">{label}</text>')


def _x_labels(parts: list[str], labels: Sequence[str], xs: Sequence[float], height: int) -> None:
    every = max(1, -(-len(labels) // 12))  # at most ~12 labels stay readable
    for i, (label, x) in enumerate(zip(labels, xs)):
        if i % every == 0 or i == len(labels) - 1 and len(labels) < 13:
            # A label on the right edge (a line chart's last night) ends there, not past it.
            anchor = "end" if x > W - PAD_R - 20 else "middle"
            parts.append(f'<text x="{x:.1f}" y="{height - PAD_B + 18}" text-anchor="{anchor}" '
                         f'fill="#444">{escape(label)}</text>')


LINE_STYLES = [(5, ""), (3, "9 5"), (2, "3 4"), (1.5, "1 3")]


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
               title: str, desc: str, percent: bool = False, height: int = 300) -> Markup:
    """One line per series over the x labels (nights); None leaves a gap."""
    parts, _ = _open(title, desc, height)
    values = [v for _, vs in series for v in vs if v is not None]
    top = 100.0 if percent else _nice_max(max(values, default=0))
    plot_w, plot_h = W - PAD_L - PAD_R, height - PAD_T - PAD_B
    step = plot_w / max(len(labels) - 1, 1)
    xs = [PAD_L + i * step for i in range(len(labels))]
    _y_axis(parts, top, height, percent)
    _x_labels(parts, labels, xs, height)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    _legend(parts, [n for n, _ in series], colours)
    for k, ((name, vs), colour) in enumerate(zip(series, colours)):
        points = [(x, PAD_T + plot_h - plot_h * min(v, top) / top)
                  for x, v in zip(xs, vs) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            # Lines with equal values must not hide each other: each later series is
            # thinner and dashed, so the one beneath still shows around it.
            width, dash = LINE_STYLES[k % len(LINE_STYLES)]
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(f'<polyline class="mark" points="{path}" fill="none" '
                         f'stroke="{colour}" stroke-width="{width}"{dashes}>'
                         f'<title>{escape(name)}</title></polyline>')
        for x, y in points if len(points) <= 40 else []:
            parts.append(f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
        if len(points) == 1:
            x, y = points[0]
            parts.append(f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
              title: str, desc: str, stacked: bool = True, percent: bool = False,
              height: int = 300) -> Markup:
    """Vertical bars per x label, stacked (counts by reason) or side by side (rates)."""
    parts, _ = _open(title, desc, height)
    n = max(len(labels), 1)
    if stacked:
        totals = [sum(vs[i] for _, vs in series) for i in range(len(labels))]
    else:
        totals = [v for _, vs in series for v in vs]
    top = 100.0 if percent else _nice_max(max(totals, default=0))
    plot_w, plot_h = W - PAD_L - PAD_R, height - PAD_T - PAD_B
    slot = plot_w / n
    _y_axis(parts, top, height, percent)
    _x_labels(parts, labels, [PAD_L + slot * (i + .5) for i in range(n)], height)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    _legend(parts, [s for s, _ in series], colours)
    groups = 1 if stacked else max(len(series), 1)
    bar_w = max(min(slot * .8 / groups, 60), 1)
    for i, label in enumerate(labels):
        base = PAD_T + plot_h
        for j, ((name, vs), colour) in enumerate(zip(series, colours)):
            v = vs[i] or 0
            h = plot_h * min(v, top) / top
            x = PAD_L + slot * i + (slot - bar_w * groups) / 2 + (0 if stacked else j * bar_w)
            y = base - h if stacked else PAD_T + plot_h - h
            if h > 0:
                shown = f"{v:.0f}%" if percent else f"{v:,.0f}"
                parts.append(f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                             f'height="{h:.1f}" fill="{colour}"><title>{escape(label)} · '
                             f'{escape(name)}: {shown}</title></rect>')
                if not stacked and bar_w >= 26:
                    parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" '
                                 f'text-anchor="middle" font-size="12">{shown}</text>')
            elif not stacked:
                # A zero beside other bars is a finding (e.g. nobody of a group placed):
                # draw it as a flat line with its label so it is not read as missing data.
                shown = "0%" if percent else "0"
                parts.append(f'<rect class="mark zero" x="{x:.1f}" y="{y - 2:.1f}" '
                             f'width="{bar_w:.1f}" height="2" fill="{colour}"><title>'
                             f'{escape(label)} · {escape(name)}: {shown}</title></rect>')
                if bar_w >= 26:
                    parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 6:.1f}" '
                                 f'text-anchor="middle" font-size="12">{shown}</text>')
            if stacked:
                base -= h
    parts.append("</svg>")
    return Markup("".join(parts))


def heat_map(rows: Sequence[str], labels: Sequence[str], values: Sequence[Sequence[float | None]],
             *, title: str, desc: str) -> Markup:
    """Occupancy rate (0–100) per row (site) and column (night): darker is fuller."""
    cell_h, label_w = 22, 190
    height = PAD_T + cell_h * len(rows) + 30
    parts, _ = _open(title, desc, height)
    plot_w = W - label_w - PAD_R
    cw = plot_w / max(len(labels), 1)
    parts.append(f'<text x="{label_w}" y="22" fill="#444">Occupancy: light 0% → dark 100%; '
                 f'grey = no beds in service</text>')
    for r, (name, vs) in enumerate(zip(rows, values)):
        y = PAD_T + r * cell_h
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(short)}</text>')
        for c, v in enumerate(vs):
            x = label_w + c * cw
            fill = "#e5e5e5" if v is None else _blue(v)
            tip = "no beds" if v is None else f"{v:.0f}%"
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y}" width="{max(cw - 1, 1):.1f}" '
                         f'height="{cell_h - 2}" fill="{fill}"><title>{escape(name)} · '
                         f'{escape(labels[c])}: {tip}</title></rect>')
    _x_labels(parts, labels, [label_w + cw * (i + .5) for i in range(len(labels))],
              height + PAD_B - 30 - 8)
    parts.append("</svg>")
    return Markup("".join(parts))


def _blue(rate: float) -> str:
    t = max(0.0, min(rate, 100.0)) / 100
    lo, hi = (239, 246, 252), (8, 48, 107)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"
