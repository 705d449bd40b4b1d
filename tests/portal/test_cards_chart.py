"""The 30-day usage chart: a plain SVG string the card page inlines."""

import re
from datetime import date, timedelta

import pytest
from django.utils import translation

from simdesk.core.units import GB, MB
from simdesk.portal.charts import (
    HEIGHT,
    PLOT_H,
    TOP,
    nice_ceiling,
    text_width,
    usage_chart_svg,
)

FIRST = date(2026, 5, 3)


def month(values):
    return [(FIRST + timedelta(days=i), v) for i, v in enumerate(values)]


def bars(svg):
    return re.findall(r'<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)">'
                      r"<title>([^<]*)</title></rect>", svg)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_it_draws_one_bar_per_day_with_a_tooltip_naming_the_day_and_amount():
    # Given thirty days, the fourth with 250 MB,
    values = [0] * 30
    values[3] = 250 * MB

    svg = usage_chart_svg(month(values))

    # then there are thirty bars and the tooltips say what each day used.
    found = bars(svg)
    assert len(found) == 30
    assert found[3][2] == "May 6: 250 MB"
    assert found[0][2] == "May 3: 0 B"


def test_it_scales_bars_against_a_round_axis_top_and_labels_it_in_readable_units():
    # Given a peak of 1.2 GB and a day of 600 MB,
    values = [0] * 30
    values[10] = 1_200 * MB
    values[11] = 600 * MB

    svg = usage_chart_svg(month(values))

    # then the axis tops out at 1.2 GB, the peak bar fills the plot, the other is half of it,
    found = bars(svg)
    assert float(found[10][1]) == pytest.approx(PLOT_H)
    assert float(found[11][1]) == pytest.approx(PLOT_H / 2)
    assert float(found[10][0]) == pytest.approx(TOP)
    # and the y axis reads 0 B, 600 MB and 1.2 GB.
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg.split("chart-bars")[0])
    assert labels == ["0 B", "600 MB", "1.2 GB"]


def test_it_keeps_a_tiny_day_visible_and_rounds_the_axis_top_up():
    values = [0] * 30
    values[0] = 3 * GB + 1
    values[1] = 1_000  # far below one pixel at this scale

    found = bars(usage_chart_svg(month(values)))

    assert nice_ceiling(3 * GB + 1) == 4 * GB
    assert float(found[1][1]) == 1
    assert all(0 <= float(y) <= HEIGHT for y, _h, _t in found)


def test_it_summarises_total_and_peak_for_screen_readers():
    values = [100 * MB] * 30
    values[20] = 900 * MB

    svg = usage_chart_svg(month(values), chart_id="c1")

    assert 'role="img"' in svg and 'aria-labelledby="c1-title c1-desc"' in svg
    assert '<title id="c1-title">Data used per day</title>' in svg
    assert ('<desc id="c1-desc">3.8 GB used in the last 30 days; the most in one day was '
            "900 MB on May 23.</desc>") in svg


def test_it_shows_an_all_zero_month_as_flat_with_a_note_and_no_division_by_zero():
    svg = usage_chart_svg(month([0] * 30))

    found = bars(svg)
    assert len(found) == 30
    assert {h for _y, h, _t in found} == {"0"}
    assert "No data used in the last 30 days." in svg
    assert "600 MB" not in svg  # only the zero line is labelled


def test_it_labels_a_few_dates_under_the_bars_ending_with_the_last_day():
    svg = usage_chart_svg(month([5 * MB] * 30))

    dates = re.findall(r"<text[^>]*>([^<]+)</text>", svg.split('class="chart-dates"')[1])
    assert dates == ["May 4", "May 11", "May 18", "May 25", "Jun 1"]


def test_it_escapes_every_piece_of_text():
    svg = usage_chart_svg(month([MB] * 30), title='Tom & "Jerry" <script>', chart_id='x"y')

    assert "<script>" not in svg
    assert "Tom &amp; &quot;Jerry&quot; &lt;script&gt;" in svg
    assert 'id="x&quot;y"' in svg


def test_it_fits_a_phone_by_scaling_a_viewbox_to_the_container_width():
    svg = usage_chart_svg(month([MB] * 30))

    assert svg.startswith("<svg ")
    assert 'viewBox="0 0 360 180"' in svg and 'width="100%"' in svg


def test_it_draws_nothing_to_scale_for_no_days_at_all():
    svg = usage_chart_svg([])

    assert bars(svg) == []
    assert "No usage to show." in svg


def test_it_leaves_out_date_labels_that_would_overlap_when_dates_are_wide():
    # Given dates written the Chinese way ("5月25日"), about twice as wide as "May 25",
    with translation.override("zh-hans"):
        svg = usage_chart_svg(month([5 * MB] * 30))

    texts = re.findall(r'<text x="([^"]+)"[^>]*>([^<]+)</text>',
                       svg.split('class="chart-dates"')[1])
    # then the last day keeps its label and no two labels come closer than their widths.
    assert texts[-1][1].startswith("6")
    centers = [float(x) for x, _t in texts]
    widths = [text_width(t) for _x, t in texts]
    for i in range(len(texts) - 1):
        assert centers[i] + widths[i] / 2 < centers[i + 1] - widths[i + 1] / 2
    assert centers[-1] + widths[-1] / 2 <= 360
