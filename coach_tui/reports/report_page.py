"""The client report's page: sections of text, tables, bullets and charts, and how they are written
as Markdown (charts as text sparklines) or as one self-contained HTML page (inline SVG charts, no
scripts, nothing fetched); with the page's words for numbers and dates."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import cycle

SPARKS = "▁▂▃▄▅▆▇█"
#: Line colours of the SVG charts (colour-blind safe: Okabe–Ito blue, orange, green, purple).
SVG_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")


def number(value: float | None, unit: str = "", digits: int = 0, *, signed: bool = False) -> str:
    """``value`` rounded (with its sign when ``signed``: "+5 %"), with its unit; "—" when there is none."""
    if value is None:
        return "—"
    return f"{value:{'+' if signed else ''}.{digits}f}{' ' + unit if unit else ''}"


def quantity(n: int, noun: str) -> str:
    """"1 session", "3 sessions"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def day(when: datetime) -> str:
    """The local calendar date: "2025-03-29"."""
    return f"{when.astimezone():%Y-%m-%d}"


def clock_time(when: datetime) -> str:
    """The local time of day: "14:05"."""
    return f"{when.astimezone():%H:%M}"


@dataclass(frozen=True, slots=True)
class ChartLine:
    """One line of a chart: its label, unit and dated values."""

    label: str
    unit: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """A titled chart of one or more lines over time."""

    title: str
    lines: tuple[ChartLine, ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A headed part of the page: paragraphs, a table (header row first), bullets and charts."""

    title: str
    text: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()
    bullets: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, from ▁ (lowest) to █ (highest)."""
    low, high = min(values), max(values)
    if high == low:
        return SPARKS[len(SPARKS) // 2] * len(values)
    return "".join(SPARKS[round((v - low) / (high - low) * (len(SPARKS) - 1))] for v in values)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def text_chart(chart: Chart) -> list[str]:
    """One Markdown bullet per line of ``chart``: its sparkline, first and last value and dates."""
    lines = []
    for line in chart.lines:
        digits = 2 if not line.unit else 0
        values = [round(v, digits) for _, v in line.points]  # the line draws the numbers it is shown with
        span = f"{day(line.points[0][0])} → {day(line.points[-1][0])}"
        lines.append(f"- {chart.title}, {line.label}: `{sparkline(values)}` {number(values[0], digits=digits)} → "
                     f"{number(values[-1], line.unit, digits)} ({span})")
    return lines


def markdown_page(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    """The page as Markdown."""
    out = [f"# {title}", "", *[f"{p}  " for p in intro], ""]
    for section in sections:
        out += [f"## {section.title}", ""]
        out += [p for text in section.text for p in (text, "")]
        if section.table:
            header, *rows = section.table
            out.append("| " + " | ".join(_md_cell(c) for c in header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("")
        if section.bullets:
            out += [f"- {b}" for b in section.bullets] + [""]
        if section.charts:
            out += [line for chart in section.charts for line in text_chart(chart)] + [""]
    return "\n".join(out)


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;max-width:52em;margin:1.5em auto;padding:0 1em;color:#222;
font-size:11pt}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.2em 0 .3em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.15em .4em;text-align:left}
p,li{margin:.2em 0}.intro{color:#555}.charts{display:flex;flex-wrap:wrap;gap:.5em}svg{font-size:10px}"""


def svg_chart(chart: Chart, width: int = 330, height: int = 150) -> str:
    """A small line chart as inline SVG: one polyline per line, min/max and first/last dates labelled."""
    left, right, top, bottom = 34, 8, 16, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [t.timestamp() for line in chart.lines for t, _ in line.points]
    values = [v for line in chart.lines for _, v in line.points]
    t0, t1 = min(times), max(times)
    v0, v1 = min(0.0, min(values)), max(values)
    t_span, v_span = (t1 - t0) or 1.0, (v1 - v0) or 1.0

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + (t.timestamp() - t0) / t_span * plot_w if t1 > t0 else left + plot_w / 2
        return x, height - bottom - (v - v0) / v_span * plot_h

    e = html.escape
    first = min(t for line in chart.lines for t, _ in line.points)
    last = max(t for line in chart.lines for t, _ in line.points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{e(chart.title)}">',
        f'<text x="{left}" y="11" font-weight="bold">{e(chart.title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>',
        f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">{v1:.3g}</text>',
        f'<text x="{left - 3}" y="{height - bottom}" text-anchor="end">{v0:.3g}</text>',
        f'<text x="{left}" y="{height - bottom + 11}">{day(first)}</text>',
        f'<text x="{width - right}" y="{height - bottom + 11}" text-anchor="end">{day(last)}</text>',
    ]
    legend_x = 4
    for colour, line in zip(cycle(SVG_COLOURS), chart.lines):
        coords = [xy(t, v) for t, v in line.points]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>' for x, y in coords]
        label = f"{line.label} {line.unit}".strip()
        parts.append(f'<text x="{legend_x}" y="{height - 6}" fill="{colour}">■ {e(label)}</text>')
        legend_x += 16 + 6.5 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def html_page(title: str, intro: Sequence[str], sections: Sequence[Section]) -> str:
    """The page as one self-contained HTML document."""
    e = html.escape
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    out += [f'<p class="intro">{e(p)}</p>' for p in intro]
    for section in sections:
        out.append(f"<h2>{e(section.title)}</h2>")
        out += [f"<p>{e(p)}</p>" for p in section.text]
        if section.table:
            header, *rows = section.table
            out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
        if section.bullets:
            out.append("<ul>" + "".join(f"<li>{e(b)}</li>" for b in section.bullets) + "</ul>")
        if section.charts:
            out.append('<div class="charts">' + "".join(svg_chart(c) for c in section.charts) + "</div>")
    out.append("</body></html>")
    return "\n".join(out)
