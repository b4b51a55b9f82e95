"""Charts as SVG text, drawn on the server: no JavaScript, no CDN, numbers always written.

A pure module (the standard library only), so any page — the dashboard of
``casekit-flask``, an email, a PDF — can embed a report's numbers::

    from casekit.charts import Bar, bar_chart

    svg = bar_chart(
        [Bar(row.label, row.count, href=link_to(row.query)) for row in table.rows],
        title="Active cases by status",
    )

Every bar and point carries its value as text beside it and in a
``<title>`` (read by screen readers and shown on hover), and links to
``href`` when one is given: the dashboard's drill-down. Text is escaped;
the SVG is a standalone document fragment with ``role="img"``, or ``role="group"``
when it has links (the links stay reachable by keyboard and screen reader).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from attrs import frozen

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""
BAR_COLOR = "#3b6ea8"
LINE_COLOR = "#3b6ea8"
ROW = 26
LABEL_WIDTH = 180
VALUE_WIDTH = 90


@frozen
class Bar:
    """One value to draw: a bar of a bar chart or a point of a line chart."""

    label: str
    value: float
    href: str | None = None


def number(value: float) -> str:
    """A value as people read it: ``1,234``, ``2.5``."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def duration(seconds: float) -> str:
    """Seconds as a short duration: ``45 s``, ``12 min``, ``3.5 h``, ``2.1 d``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _open(width: int, height: int, title: str, *, linked: bool = False) -> list[str]:
    """The ``<svg>`` start: a picture (``role="img"``), or a labelled ``group`` when it
    holds links, which a picture's content would hide from assistive technology."""
    role = "group" if linked else "img"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="{role}" aria-label={quoteattr(title)} {FONT} '
        'font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-size="14" font-weight="600">{escape(title)}</text>',
    ]


def _linked(part: str, href: str | None) -> str:
    return part if href is None else f"<a href={quoteattr(href)}>{part}</a>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    width: int = 640,
    formatter: Callable[[float], str] = number,
    color: str = BAR_COLOR,
) -> str:
    """A horizontal bar chart: a label, a bar and the value written beside it, per row."""
    top = 28
    height = top + max(len(bars), 1) * ROW + 4
    out = _open(width, height, title, linked=any(b.href for b in bars))
    if not bars:
        out.append(f'<text x="0" y="{top + 16}" fill="#555">No data</text>')
    biggest = max((b.value for b in bars), default=0) or 1
    room = max(width - LABEL_WIDTH - VALUE_WIDTH, 10)
    for i, bar in enumerate(bars):
        y = top + i * ROW
        length = max(bar.value, 0) / biggest * room
        shown = formatter(bar.value)
        part = (
            f"<g><title>{escape(bar.label)}: {escape(shown)}</title>"
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">'
            f"{escape(_cut(bar.label, 28))}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="{ROW - 8}" '
            f'fill="{color}" rx="2"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 16}">{escape(shown)}</text></g>'
        )
        out.append(_linked(part, bar.href))
    out.append("</svg>")
    return "".join(out)


def line_chart(
    points: Sequence[Bar],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
    formatter: Callable[[float], str] = number,
    color: str = LINE_COLOR,
    labels_every: int | None = None,
) -> str:
    """A line over time (a day or week per point), each value written above its point.

    ``labels_every`` writes every n-th value and date (all of them up to 31
    points, by default); every point still has its ``<title>``.
    """
    out = _open(width, height, title, linked=any(p.href for p in points))
    if not points:
        out.append('<text x="0" y="44" fill="#555">No data</text></svg>')
        return "".join(out)
    left, right, top, bottom = 36, 16, 40, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    biggest = max(max(p.value for p in points), 0) or 1
    step = plot_w / max(len(points) - 1, 1)
    every = labels_every or max(1, -(-len(points) // 31))
    xy = [
        (left + i * step, top + plot_h - max(p.value, 0) / biggest * plot_h)
        for i, p in enumerate(points)
    ]
    base = top + plot_h
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#999"/>')
    out.append(
        f'<polyline fill="none" stroke="{color}" stroke-width="2" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        + '"/>'
    )
    for i, (p, (x, y)) in enumerate(zip(points, xy, strict=True)):
        shown = formatter(p.value)
        part = [
            f"<g><title>{escape(p.label)}: {escape(shown)}</title>",
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>',
        ]
        if i % every == 0 or i == len(points) - 1:
            part.append(
                f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{escape(shown)}</text>'
                f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="#555" '
                f'font-size="10">{escape(_cut(p.label, 12))}</text>'
            )
        part.append("</g>")
        out.append(_linked("".join(part), p.href))
    out.append("</svg>")
    return "".join(out)


__all__ = ["Bar", "bar_chart", "duration", "line_chart", "number"]
