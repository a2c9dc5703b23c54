"""Server-side SVG charts: drawn in Python, so they need no internet and no JavaScript.

Every chart is an <svg role="img"> with a <title> and a <desc> (its text alternative);
the table under each chart on the page holds the same figures. Colours are the
Okabe-Ito palette, readable by people with colour-vision deficiencies. Titles, legends and
text alternatives come translated from the reports; the words drawn here ("no requests",
the heat map's key) and every number are in the language of the request."""
from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import count
from markupsafe import Markup, escape

from shelter import i18n
from shelter.i18n import _

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
        label = _shown(value, percent)
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


def _shown(value: float, percent: bool) -> str:
    """A value as the chart writes it: "42 %" / "1 200" in bokmål, "42%" / "1,200" in English."""
    return i18n.percent(value / 100) if percent else i18n.number(round(value))


LINE_STYLES = [(5, ""), (3, "9 5"), (2, "3 4"), (1.5, "1 3")]


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
               title: str, desc: str, percent: bool = False, height: int = 300) -> Markup:
    """One line per series over the x labels (nights); None leaves a gap."""
    parts, __ = _open(title, desc, height)
    values = [v for __, vs in series for v in vs if v is not None]
    top = 100.0 if percent else _nice_max(max(values, default=0))
    plot_w, plot_h = W - PAD_L - PAD_R, height - PAD_T - PAD_B
    step = plot_w / max(len(labels) - 1, 1)
    xs = [PAD_L + i * step for i in range(len(labels))]
    _y_axis(parts, top, height, percent)
    _x_labels(parts, labels, xs, height)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    _legend(parts, [n for n, __ in series], colours)
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


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
              title: str, desc: str, stacked: bool = True, percent: bool = False,
              height: int = 300) -> Markup:
    """Vertical bars per x label, stacked (counts by reason) or side by side (rates).

    Side by side, a value of None means the group had nothing to measure (a rate of no
    requests): it is written "no requests", never drawn as a 0% bar."""
    parts, __ = _open(title, desc, height)
    n = max(len(labels), 1)
    if stacked:
        totals = [sum(vs[i] or 0 for __, vs in series) for i in range(len(labels))]
    else:
        totals = [v for __, vs in series for v in vs if v is not None]
    top = 100.0 if percent else _nice_max(max(totals, default=0))
    plot_w, plot_h = W - PAD_L - PAD_R, height - PAD_T - PAD_B
    slot = plot_w / n
    _y_axis(parts, top, height, percent)
    _x_labels(parts, labels, [PAD_L + slot * (i + .5) for i in range(n)], height)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    _legend(parts, [s for s, __ in series], colours)
    groups = 1 if stacked else max(len(series), 1)
    bar_w = max(min(slot * .8 / groups, 60), 1)
    for i, label in enumerate(labels):
        base = PAD_T + plot_h
        for j, ((name, vs), colour) in enumerate(zip(series, colours)):
            x = PAD_L + slot * i + (slot - bar_w * groups) / 2 + (0 if stacked else j * bar_w)
            if vs[i] is None and not stacked:
                _no_requests(parts, x, bar_w, PAD_T + plot_h, f"{label} · {name}")
                continue
            v = vs[i] or 0
            h = plot_h * min(v, top) / top
            y = base - h if stacked else PAD_T + plot_h - h
            if h > 0:
                shown = _shown(v, percent)
                parts.append(f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                             f'height="{h:.1f}" fill="{colour}"><title>{escape(label)} · '
                             f'{escape(name)}: {escape(shown)}</title></rect>')
                if not stacked and bar_w >= 26:
                    parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" '
                                 f'text-anchor="middle" font-size="12">{escape(shown)}</text>')
            elif not stacked:
                # A zero beside other bars is a finding (e.g. nobody of a group placed):
                # draw it as a flat line with its label so it is not read as missing data.
                shown = _shown(0, percent)
                parts.append(f'<rect class="mark zero" x="{x:.1f}" y="{y - 2:.1f}" '
                             f'width="{bar_w:.1f}" height="2" fill="{colour}"><title>'
                             f'{escape(label)} · {escape(name)}: {escape(shown)}</title></rect>')
                if bar_w >= 26:
                    parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 6:.1f}" '
                                 f'text-anchor="middle" font-size="12">{escape(shown)}</text>')
            if stacked:
                base -= h
    parts.append("</svg>")
    return Markup("".join(parts))


def _no_requests(parts: list[str], x: float, bar_w: float, base: float, what: str) -> None:
    """A group with nothing to measure: the words "no requests" written upwards in the
    bar's place (grey, 11 px), so an empty group is not read as a rate of 0%."""
    cx = x + bar_w / 2
    tip = _("%(what)s: no requests", what=what)
    none = _("no requests")
    parts.append(f'<g class="mark none"><title>{escape(tip)}</title>'
                 f'<rect x="{x:.1f}" y="{base - 2:.1f}" width="{bar_w:.1f}" height="2" '
                 f'fill="none" stroke="#767676" stroke-dasharray="2 2"/>')
    if bar_w >= 12:
        parts.append(f'<text x="{cx + 4:.1f}" y="{base - 6:.1f}" font-size="11" fill="#595959" '
                     f'transform="rotate(-90 {cx + 4:.1f} {base - 6:.1f})">'
                     f'{escape(none)}</text>')
    parts.append("</g>")


CHAR_W = 7.2  # px per character of 13 px system-ui text, a safe over-estimate


def _wrap(name: str, width: int) -> list[str]:
    """Whole words on lines of at most `width` characters (a longer word stays whole)."""
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def heat_map(rows: Sequence[str], labels: Sequence[str], values: Sequence[Sequence[float | None]],
             *, title: str, desc: str) -> Markup:
    """Occupancy rate (0–100) per row (site) and column (night): darker is fuller.

    Site names are written whole: the label column is as wide as the longest name needs
    (up to 40% of the chart), and a longer name wraps onto more lines of its row. Night
    labels are spaced so none overlaps the next, each with a tick at its column."""
    longest = max((len(r) for r in rows), default=0)
    label_w = int(min(max(longest * CHAR_W + 14, 90), W * .4))
    fit = max(int((label_w - 14) // CHAR_W), 8)
    wrapped = [_wrap(name, fit) for name in rows]
    line_h = 16
    heights = [max(22, line_h * len(lines) + 6) for lines in wrapped]
    top_y = PAD_T
    height = top_y + sum(heights) + 40
    parts, __ = _open(title, desc, height)
    plot_w = W - label_w - PAD_R
    cw = plot_w / max(len(labels), 1)
    key = _("Occupancy: light %(low)s → dark %(high)s; grey = no beds in service",
            low=i18n.percent(0), high=i18n.percent(1))
    parts.append(f'<text x="{label_w}" y="22" fill="#444">{escape(key)}</text>')
    y = top_y
    no_beds = _("no beds")
    for name, lines, cell_h, vs in zip(rows, wrapped, heights, values):
        first = y + (cell_h - 2 - line_h * len(lines)) / 2 + 12
        text = "".join(f'<tspan x="{label_w - 6}" y="{first + k * line_h:.1f}">'
                       f'{escape(line)}</tspan>' for k, line in enumerate(lines))
        parts.append(f'<text text-anchor="end">{text}</text>')
        for c, v in enumerate(vs):
            x = label_w + c * cw
            fill = "#e5e5e5" if v is None else _blue(v)
            tip = no_beds if v is None else _shown(v, True)
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y}" width="{max(cw - 1, 1):.1f}" '
                         f'height="{cell_h - 2}" fill="{fill}"><title>{escape(name)} · '
                         f'{escape(labels[c])}: {escape(tip)}</title></rect>')
        y += cell_h
    # As many night labels as fit side by side without touching, evenly spaced.
    label_px = max((len(lb) for lb in labels), default=1) * CHAR_W + 12
    every = max(1, math.ceil(label_px / cw)) if labels else 1
    for i, label in enumerate(labels):
        if i % every:
            continue
        x = label_w + cw * (i + .5)
        # A label that would run past the right edge ends at it instead.
        tx, anchor = (W - 2, "end") if x + label_px / 2 > W else (x, "middle")
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y}" y2="{y + 5}" stroke="#444"/>'
                     f'<text class="night" x="{tx:.1f}" y="{y + 20}" text-anchor="{anchor}" '
                     f'fill="#222">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _blue(rate: float) -> str:
    t = max(0.0, min(rate, 100.0)) / 100
    lo, hi = (239, 246, 252), (8, 48, 107)
    r, g, b = (round(a + (z - a) * t) for a, z in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"
