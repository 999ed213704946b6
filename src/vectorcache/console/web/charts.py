"""Charts drawn on the server as SVG (no script, no CDN): shown inline through a data: URI."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape

__all__ = ["series_chart"]


def series_chart(title: str, points: Sequence[tuple[str, float | None]], *, unit: str = "",
                 width: int = 560, height: int = 150) -> str:
    """Vertical bars over time, one per bucket (a gap where the value is None), labelled
    with the first and last bucket and the largest value; a ``data:image/svg+xml`` URI."""
    left, top, bottom = 8, 22, 20
    values = [v or 0.0 for _, v in points]
    highest = max(values, default=0.0)
    peak = highest or 1.0
    inner_w, inner_h = width - 2 * left, height - top - bottom
    step = inner_w / max(len(points), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<text x="{left}" y="14" font-weight="bold">{escape(title)}</text>',
             f'<text x="{width - left}" y="14" text-anchor="end">max {highest:,.4g}{unit}</text>',
             f'<line x1="{left}" y1="{top + inner_h}" x2="{width - left}" y2="{top + inner_h}" '
             f'stroke="#999"/>']
    for i, (_, value) in enumerate(points):
        if value is None:
            continue
        h = inner_h * (value / peak)
        parts.append(f'<rect x="{left + i * step + 1:.1f}" y="{top + inner_h - h:.1f}" '
                     f'width="{max(step - 2, 1):.1f}" height="{h:.1f}" fill="#3b6ea5"/>')
    if points:
        parts.append(f'<text x="{left}" y="{height - 4}">{escape(points[0][0])}</text>'
                     f'<text x="{width - left}" y="{height - 4}" text-anchor="end">'
                     f'{escape(points[-1][0])}</text>')
    parts.append("</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode("".join(parts).encode()).decode()
