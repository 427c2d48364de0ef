"""Small inline SVG pictures of a feature's reference and current distributions (no plotting library).

Numeric: the two histograms over the same equal-width bins, as overlaid step outlines with the
reference filled. Categorical: one row per category with a reference bar and a current bar. Every
label is escaped; nothing refers outside the document.
"""

from __future__ import annotations

from html import escape

from .result import Histogram

REFERENCE_COLOUR = "#4c78a8"
CURRENT_COLOUR = "#f58518"
WIDTH, HEIGHT = 420, 160
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 40, 28, 8


def histogram_svg(picture: Histogram) -> str:
    """The picture of one feature: numeric steps when it has edges, category bars when it has labels."""
    if picture.labels is not None:
        return _category_bars(picture.labels, picture.reference, picture.current)
    if picture.edges and len(picture.edges) >= 2:
        return _steps(picture.edges, picture.reference, picture.current)
    return ""


def _steps(edges: list[float], reference: list[float], current: list[float]) -> str:
    top = max([*reference, *current, 1e-12])
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    bins = len(reference)

    def x(i: int) -> float:
        return PAD_LEFT + plot_w * i / bins

    def y(share: float) -> float:
        return PAD_TOP + plot_h * (1 - share / top)

    def outline(shares: list[float]) -> str:
        points = [f"{x(0):.1f},{y(0):.1f}"]
        for i, share in enumerate(shares):
            points += [f"{x(i):.1f},{y(share):.1f}", f"{x(i + 1):.1f},{y(share):.1f}"]
        points.append(f"{x(bins):.1f},{y(0):.1f}")
        return " ".join(points)

    low, high = _number(edges[0]), _number(edges[-1])
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="reference and current distributions">'
        f'<polygon points="{outline(reference)}" fill="{REFERENCE_COLOUR}" fill-opacity="0.35" '
        f'stroke="{REFERENCE_COLOUR}" stroke-width="1.5"/>'
        f'<polyline points="{outline(current)}" fill="none" stroke="{CURRENT_COLOUR}" stroke-width="2"/>'
        f'<line x1="{PAD_LEFT}" y1="{y(0):.1f}" x2="{WIDTH - 8}" y2="{y(0):.1f}" stroke="#888"/>'
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 8}" font-size="11">{escape(low)}</text>'
        f'<text x="{WIDTH - 8}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{escape(high)}</text>'
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" font-size="10" text-anchor="end">{top:.0%}</text>'
        "</svg>"
    )


def _category_bars(labels: list[str], reference: list[float], current: list[float]) -> str:
    row, label_w = 18, 110
    height = PAD_TOP + row * len(labels) + 4
    bar_w = WIDTH - label_w - 100  # room for "39.5% → 10.1%" after the bars
    top = max([*reference, *current, 1e-12])
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="reference and current shares per category">'
    ]
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current, strict=True)):
        y0 = PAD_TOP + i * row
        shown = label if len(label) <= 20 else label[:19] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y0 + 12}" font-size="11" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y0 + 1}" width="{bar_w * ref / top:.1f}" height="7" fill="{REFERENCE_COLOUR}"/>'
            f'<rect x="{label_w}" y="{y0 + 8}" width="{bar_w * cur / top:.1f}" height="7" fill="{CURRENT_COLOUR}"/>'
            f'<text x="{label_w + bar_w + 4}" y="{y0 + 12}" font-size="10">{ref:.1%} → {cur:.1%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:.4g}"


__all__ = ["CURRENT_COLOUR", "REFERENCE_COLOUR", "histogram_svg"]
