import pytest
from django.core.exceptions import ValidationError

from simdesk.cards.iccid import (
    iccid_normalize,
    iccid_with_check_digit,
    luhn_is_valid,
    validate_iccid,
)

VALID_19 = "8944500102198304826"  # a real-world shaped ICCID with a correct Luhn digit


def test_it_accepts_a_19_digit_iccid_with_a_correct_check_digit():
    assert luhn_is_valid(VALID_19)
    validate_iccid(VALID_19)


def test_it_accepts_a_20_digit_iccid():
    iccid = iccid_with_check_digit("8986011234567890123")
    assert len(iccid) == 20
    validate_iccid(iccid)


@pytest.mark.parametrize("wrong_digit", ["0", "1", "2", "3", "4", "5", "7", "8", "9"])
def test_it_refuses_a_wrong_check_digit(wrong_digit):
    with pytest.raises(ValidationError) as error:
        validate_iccid(VALID_19[:-1] + wrong_digit)
    assert error.value.code == "iccid_checksum"


@pytest.mark.parametrize("payload", ["89445001021983048", "894450010219830482611"])
def test_it_refuses_an_iccid_of_the_wrong_length(payload):
    with pytest.raises(ValidationError) as error:
        validate_iccid(iccid_with_check_digit(payload))
    assert error.value.code == "iccid_length"


def test_it_refuses_an_iccid_that_does_not_start_with_89():
    with pytest.raises(ValidationError) as error:
        validate_iccid(iccid_with_check_digit("794450010219830482"))
    assert error.value.code == "iccid_prefix"


FULL_WIDTH = "８９４４５００１０２１９８３０４８２６"


@pytest.mark.parametrize("value", ["", "89445001021983O4826", FULL_WIDTH])
def test_it_refuses_anything_but_ascii_digits(value):
    with pytest.raises(ValidationError) as error:
        validate_iccid(value)
    assert error.value.code == "iccid_digits"


def test_it_says_what_is_wrong_in_words():
    with pytest.raises(ValidationError) as error:
        validate_iccid(VALID_19[:-1] + "0")
    assert "Luhn" in error.value.messages[0]


def test_it_drops_spaces_and_hyphens_people_type():
    assert iccid_normalize(" 8944 5001-0219 8304 826 ") == VALID_19
