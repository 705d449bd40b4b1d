"""A server-rendered SVG bar chart of one or more series per day: no JavaScript, no chart
library. The portal's usage chart (portal/charts.py) draws bytes for one card; this one
draws any integer series (counts, money in minor units, bytes) with a formatter for the
axis and tooltips, and groups the bars of several series side by side in each day.

Every piece of text goes through ``escape``; the document is returned as safe markup.
"""

import unicodedata
from collections.abc import Callable, Sequence
from datetime import date

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

FONT_SIZE = 12
RIGHT = 8
BOTTOM = 24  # room for the date labels
BAR_GAP = 0.2  # share of a day's slot left empty between days
LABEL_SPACING = 8
LEGEND_HEIGHT = 20
SERIES_CLASSES = 4  # chart-series-0 … chart-series-3 in the stylesheet; then they repeat

# Axis tops are one of these × a power of ten, so a label reads "150", not "137".
_NICE = (10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100)


def nice_ceiling(peak: int) -> int:
    """The smallest "round" number ≥ ``peak`` (≥ 1), whose half is round too."""
    if peak <= 0:
        return 1
    if peak <= 10:
        return peak if peak % 2 == 0 or peak == 1 else peak + 1
    power = 1
    while _NICE[-1] * power < peak:
        power *= 10
    for nice in _NICE:
        if nice * power >= peak:
            return nice * power
    raise AssertionError("unreachable")  # pragma: no cover


def text_width(text: str) -> float:
    """A generous estimate of the drawn width of ``text`` at FONT_SIZE: wide glyphs
    (CJK, full-width forms) take a full em, everything else about 0.62 em."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62
               for ch in text) * FONT_SIZE


def svg_number(value: float) -> str:
    """Coordinates with at most two decimals, no trailing zeros ("12.5", "40")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _label_step(count: int) -> int:
    """A date label every day for two weeks, every week up to four months, else monthly."""
    if count <= 14:
        return 1
    return 7 if count <= 120 else 30


def series_chart_svg(
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    fmt: Callable[[int], str],
    chart_id: str,
    title: str,
    width: int = 720,
    height: int = 220,
) -> SafeString:
    """An accessible bar chart: for each day in ``days`` (oldest first), one bar per
    series in ``series`` = ``[(label, [value per day, …]), …]``. ``fmt`` writes a value for
    people ("12.50 US$", "3", "1.5 GB"). Each bar has a tooltip; ``<title>``/``<desc>``
    give screen readers each series' total and peak."""
    count = len(days)
    for _label, values in series:
        if len(values) != count:
            raise ValueError("each series needs one value per day")
    peak = max((int(v) for _label, values in series for v in values), default=0)
    top = nice_ceiling(peak)
    ticks = sorted({0, top // 2, top}) if peak else [0]
    left = max(text_width(fmt(value)) for value in ticks) + 10
    top_margin = 14 + (LEGEND_HEIGHT if len(series) > 1 else 0)
    plot_w = width - left - RIGHT
    plot_h = height - top_margin - BOTTOM
    baseline = top_margin + plot_h

    summaries = []
    for label, values in series:
        total = sum(int(v) for v in values)
        if total:
            best = max(range(count), key=lambda i: (values[i], -i))
            summaries.append(_("%(series)s: %(total)s in all, the most on %(date)s "
                               "(%(peak)s).") % {
                "series": label, "total": fmt(total), "peak": fmt(int(values[best])),
                "date": date_format(days[best], "MONTH_DAY_FORMAT")})
        else:
            summaries.append(_("%(series)s: none.") % {"series": label})
    desc = " ".join(summaries) if count else _("Nothing to show.")

    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="chart chart-wide" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
        f'width="100%" font-size="{FONT_SIZE}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>',
    ]

    if len(series) > 1:
        parts.append('<g class="chart-legend" aria-hidden="true">')
        x = left
        for index, (label, _values) in enumerate(series):
            css = f"chart-series-{index % SERIES_CLASSES}"
            parts.append(f'<rect class="{css}" x="{svg_number(x)}" y="4" width="10" height="10"/>'
                         f'<text x="{svg_number(x + 14)}" y="13">{escape(label)}</text>')
            x += 14 + text_width(label) + 16
        parts.append("</g>")

    parts.append('<g class="chart-grid" aria-hidden="true">')
    for value in ticks:
        y = baseline - value / top * plot_h
        parts.append(
            f'<line x1="{svg_number(left)}" x2="{width - RIGHT}" '
            f'y1="{svg_number(y)}" y2="{svg_number(y)}"/>'
            f'<text x="{svg_number(left - 6)}" y="{svg_number(y + 4)}" text-anchor="end">'
            f"{escape(fmt(value))}</text>")
    parts.append("</g>")

    if count and series:
        slot = plot_w / count
        bar_w = slot * (1 - BAR_GAP) / len(series)
        parts.append('<g class="chart-bars">')
        for index, day in enumerate(days):
            x0 = left + index * slot + slot * BAR_GAP / 2
            for number, (label, values) in enumerate(series):
                value = int(values[index])
                bar_h = value / top * plot_h if value else 0
                if value and bar_h < 1:
                    bar_h = 1  # a day with anything stays visible
                tip = _("%(series)s, %(date)s: %(amount)s") % {
                    "series": label, "date": date_format(day, "MONTH_DAY_FORMAT"),
                    "amount": fmt(value)}
                parts.append(
                    f'<rect class="chart-series-{number % SERIES_CLASSES}" '
                    f'x="{svg_number(x0 + number * bar_w)}" y="{svg_number(baseline - bar_h)}" '
                    f'width="{svg_number(bar_w)}" height="{svg_number(bar_h)}">'
                    f"<title>{escape(tip)}</title></rect>")
        parts.append("</g>")

        axis_format = pgettext("short date under a chart bar, Django date format", "M j")
        parts.append('<g class="chart-dates" aria-hidden="true">')
        # Walk back from the last day, skipping a label that would touch its neighbour.
        free_until = width - RIGHT + LABEL_SPACING
        labels = []
        for index in range(count - 1, -1, -_label_step(count)):
            text = date_format(days[index], axis_format)
            text_w = text_width(text)
            center = left + index * slot + slot / 2
            right = min(center + text_w / 2, width - RIGHT)
            if right > free_until - LABEL_SPACING or right - text_w < 0:
                continue
            labels.append((right - text_w / 2, text))
            free_until = right - text_w
        for center, text in reversed(labels):
            parts.append(f'<text x="{svg_number(center)}" y="{height - 6}" text-anchor="middle">'
                         f"{escape(text)}</text>")
        parts.append("</g>")
    if not peak:
        parts.append(
            f'<text class="chart-empty" x="{svg_number(left + plot_w / 2)}" '
            f'y="{svg_number(top_margin + plot_h / 2)}" text-anchor="middle" aria-hidden="true">'
            f'{escape(_("Nothing in these days"))}</text>')
    parts.append("</svg>")
    # Every interpolated value above went through escape().
    return mark_safe("".join(parts))  # noqa: S308
