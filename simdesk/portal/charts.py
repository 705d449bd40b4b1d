"""Server-rendered SVG charts for the portal: no JavaScript, no chart library, no request.

The chart is drawn in a 360 × 180 viewBox (the width of a small phone) and
stretched to the width of its container, so one SVG unit is about one CSS
pixel on a phone. Every piece of text goes through ``escape``; the whole
document is built here and returned as safe markup.
"""

from collections.abc import Sequence
from datetime import date

from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from simdesk.core.charts import FONT_SIZE, svg_number, text_width
from simdesk.core.units import format_bytes

WIDTH = 360
HEIGHT = 180
LEFT = 58  # room for "1.25 GB"
RIGHT = 6
TOP = 10
BOTTOM = 24  # room for the date labels
PLOT_W = WIDTH - LEFT - RIGHT
PLOT_H = HEIGHT - TOP - BOTTOM
BAR_GAP = 0.2  # share of a slot left empty between bars
LABEL_EVERY = 7  # a date label every week, counted back from the last day
LABEL_SPACING = 6

# Axis tops are one of these × a power of ten, so a label reads "1.5 GB", not "1.37 GB".
_NICE = (10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100)


def nice_ceiling(peak: int) -> int:
    """The smallest "round" number of bytes ≥ ``peak`` (≥ 1), whose half is round too."""
    if peak <= 0:
        return 1
    power = 1
    while _NICE[-1] * power < peak:
        power *= 10
    for nice in _NICE:
        if nice * power >= peak:
            return nice * power
    raise AssertionError("unreachable")  # pragma: no cover


def usage_chart_svg(
    days: Sequence[tuple[date, int]],
    *,
    chart_id: str = "usage-chart",
    title: str | None = None,
    language: str | None = None,
) -> SafeString:
    """An accessible bar chart of bytes used per day, oldest day first.

    ``days`` is ``[(date, bytes), …]`` (normally the last 30 days, one entry per
    day, zero days included). Each bar carries a tooltip with its date and amount;
    the ``<title>``/``<desc>`` pair gives screen readers the total and the peak.
    """
    if title is None:
        title = _("Data used per day")
    values = [int(used) for _day, used in days]
    total = sum(values)
    peak = max(values, default=0)
    count = len(values)
    top = nice_ceiling(peak)

    if not count:
        desc = _("No usage to show.")
    elif peak == 0:
        desc = ngettext(
            "No data used in the last %(count)d day.",
            "No data used in the last %(count)d days.",
            count,
        ) % {"count": count}
    else:
        peak_day = days[values.index(peak)][0]
        desc = ngettext(
            "%(total)s used in the last %(count)d day; the most in one day was %(peak)s "
            "on %(date)s.",
            "%(total)s used in the last %(count)d days; the most in one day was %(peak)s "
            "on %(date)s.",
            count,
        ) % {
            "total": format_bytes(total, language),
            "count": count,
            "peak": format_bytes(peak, language),
            "date": date_format(peak_day, "MONTH_DAY_FORMAT"),
        }

    title_id = f"{chart_id}-title"
    desc_id = f"{chart_id}-desc"
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" font-size="{FONT_SIZE}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>',
    ]

    # Grid lines and y-axis labels: the top, the middle (when there is data) and zero.
    baseline = TOP + PLOT_H
    ticks = [0, top // 2, top] if peak else [0]
    parts.append('<g class="chart-grid" aria-hidden="true">')
    for value in ticks:
        y = baseline - value / top * PLOT_H
        label = format_bytes(value, language)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{svg_number(y)}" y2="{svg_number(y)}"/>'
            f'<text x="{LEFT - 6}" y="{svg_number(y + 4)}" text-anchor="end">{escape(label)}</text>'
        )
    parts.append("</g>")

    if count:
        slot = PLOT_W / count
        bar_w = slot * (1 - BAR_GAP)
        axis_format = pgettext("short date under a chart bar, Django date format", "M j")
        parts.append('<g class="chart-bars">')
        for index, (day, used) in enumerate(zip((d for d, _u in days), values, strict=True)):
            height = used / top * PLOT_H if used else 0
            if used and height < 1:
                height = 1  # a day with any use stays visible
            x = LEFT + index * slot + (slot - bar_w) / 2
            tip = _("%(date)s: %(amount)s") % {
                "date": date_format(day, "MONTH_DAY_FORMAT"),
                "amount": format_bytes(used, language),
            }
            parts.append(
                f'<rect x="{svg_number(x)}" y="{svg_number(baseline - height)}" '
                f'width="{svg_number(bar_w)}" '
                f'height="{svg_number(height)}"><title>{escape(tip)}</title></rect>'
            )
        parts.append("</g>")

        parts.append('<g class="chart-dates" aria-hidden="true">')
        # Walk back from the last day, a label a week, skipping any that would touch the
        # one to its right (Chinese dates are about twice as wide as English ones).
        free_until = WIDTH - RIGHT + LABEL_SPACING
        labels = []
        for index in range(count - 1, -1, -LABEL_EVERY):
            text = date_format(days[index][0], axis_format)
            width = text_width(text)
            center = LEFT + index * slot + slot / 2
            right = min(center + width / 2, WIDTH - RIGHT)
            left = right - width
            if right > free_until - LABEL_SPACING or left < 0:
                continue
            labels.append((left + width / 2, text))
            free_until = left
        for center, text in reversed(labels):
            parts.append(
                f'<text x="{svg_number(center)}" y="{HEIGHT - 6}" text-anchor="middle">'
                f"{escape(text)}</text>"
            )
        parts.append("</g>")
    else:
        parts.append(
            f'<text class="chart-empty" x="{LEFT + PLOT_W / 2:.0f}" y="{TOP + PLOT_H / 2:.0f}" '
            f'text-anchor="middle">{escape(desc)}</text>'
        )

    if count and peak == 0:
        parts.append(
            f'<text class="chart-empty" x="{LEFT + PLOT_W / 2:.0f}" y="{TOP + PLOT_H / 2:.0f}" '
            f'text-anchor="middle" aria-hidden="true">{escape(_("No data used"))}</text>'
        )
    parts.append("</svg>")
    # Every interpolated value above went through escape().
    return mark_safe("".join(parts))  # noqa: S308
