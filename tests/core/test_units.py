import pytest

from simdesk.core.units import GB, MB, format_bytes, format_kbps, parse_bytes


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1_000, "1 KB"),
        (500 * MB, "500 MB"),
        (3 * GB, "3 GB"),
        (1_250_000_000, "1.25 GB"),
        (12_500_000_000, "12.5 GB"),
        (125 * GB, "125 GB"),
        (1_000 * GB, "1 TB"),
    ],
)
def test_it_shows_sizes_in_decimal_units(n, shown):
    assert format_bytes(n, "en") == shown


def test_it_rounds_down_so_a_balance_is_never_overstated():
    assert format_bytes(999_999_999, "en") == "999 MB"
    assert format_bytes(2_999_999_999, "en") == "2.99 GB"


def test_it_groups_thousands_of_bytes_by_the_language():
    assert format_bytes(1_000 * 1_000 * GB, "en") == "1,000 TB"


def test_it_refuses_floats_for_byte_counts():
    with pytest.raises(TypeError):
        format_bytes(1.5e9)


@pytest.mark.parametrize(
    ("text", "n"),
    [("3GB", 3 * GB), ("3 gb", 3 * GB), ("0.5 GB", 500 * MB), ("500MB", 500 * MB), ("12 B", 12)],
)
def test_it_parses_sizes_written_by_people(text, n):
    assert parse_bytes(text) == n


@pytest.mark.parametrize("text", ["", "GB", "3", "-1GB", "1.5B", "3 GiB", "3e9"])
def test_it_refuses_what_is_not_a_size(text):
    with pytest.raises(ValueError):
        parse_bytes(text)


def test_it_shows_speeds_in_kbit_and_mbit():
    assert format_kbps(512, "en") == "512 kbit/s"
    assert format_kbps(1000, "en") == "1 Mbit/s"
    assert format_kbps(1500, "en") == "1.5 Mbit/s"
