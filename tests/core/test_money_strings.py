"""Gateways that take decimal strings (PayPal, Alipay) get exactly the integer minor units."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simdesk.core.money import decimal_string_to_minor, minor_to_decimal_string


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (999, "USD", "9.99"), (5, "CNY", "0.05"), (1000, "USD", "10.00"),
    (500, "JPY", "500"), (123456, "KWD", "123.456"), (0, "USD", "0.00"),
])
def test_minor_units_become_the_currencys_decimal_string(minor, currency, text):
    assert minor_to_decimal_string(minor, currency) == text
    assert decimal_string_to_minor(text, currency) == minor


def test_trailing_zeros_beyond_the_currencys_digits_are_the_same_amount():
    assert decimal_string_to_minor("9.990", "USD") == 999
    assert decimal_string_to_minor("500.0", "JPY") == 500


@pytest.mark.parametrize(("text", "currency"), [
    ("9.999", "USD"), ("1.5", "JPY"), ("1e3", "USD"), (" 9.99", "USD"), ("9,99", "USD"),
    ("", "USD"), ("NaN", "USD"), ("Infinity", "USD"), ("٩.٩٩", "USD"),
])
def test_anything_but_a_plain_amount_in_the_currencys_digits_is_refused(text, currency):
    with pytest.raises(ValueError):
        decimal_string_to_minor(text, currency)


def test_a_float_is_never_accepted_as_minor_units():
    with pytest.raises(TypeError):
        minor_to_decimal_string(9.99, "USD")


@given(st.integers(min_value=0, max_value=10**15), st.sampled_from(["USD", "CNY", "JPY", "KWD"]))
def test_the_round_trip_is_exact(minor, currency):
    assert decimal_string_to_minor(minor_to_decimal_string(minor, currency), currency) == minor
