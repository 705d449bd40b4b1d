import pytest
from django.core.exceptions import ValidationError

from simdesk.cards.activation import activation_code_normalize, activation_code_parse


def test_it_parses_a_code_with_the_lpa_prefix():
    code = activation_code_parse("LPA:1$SMDP.Example.com$K2-1ABC-XYZ")
    assert code.smdp_address == "smdp.example.com"
    assert code.matching_id == "K2-1ABC-XYZ"
    assert code.smdp_oid == ""
    assert code.confirmation_required is False


def test_it_parses_a_code_without_the_prefix_the_same_way():
    assert activation_code_parse("1$smdp.example.com$ABC") == activation_code_parse(
        "lpa:1$smdp.example.com$ABC")


def test_it_reads_the_oid_and_the_confirmation_flag():
    code = activation_code_parse("LPA:1$smdp.example.com$ABC$1.3.6.1.4.1.31746$1")
    assert code.smdp_oid == "1.3.6.1.4.1.31746"
    assert code.confirmation_required is True
    assert str(code) == "1$smdp.example.com$ABC$1.3.6.1.4.1.31746$1"


def test_it_stores_codes_without_the_prefix_and_draws_the_qr_with_it():
    stored = activation_code_normalize("LPA:1$smdp.example.com$ABC")
    assert stored == "1$smdp.example.com$ABC"
    assert activation_code_parse(stored).qr_payload == "LPA:1$smdp.example.com$ABC"


@pytest.mark.parametrize("text", [
    "", "LPA:", "LPA:2$smdp.example.com$ABC", "LPA:1$smdp.example.com",
    "LPA:1$localhost$ABC", "LPA:1$smdp.example.com$", "LPA:1$smdp.example.com$A B",
    "LPA:1$-bad-.example.com$ABC", "LPA:1$smdp.example.com$ABC$not-an-oid",
    "LPA:1$smdp.example.com$ABC$1.2.3$2", "LPA:1$smdp.example.com$ABC$1.2$1$extra",
])
def test_it_refuses_malformed_codes(text):
    with pytest.raises(ValidationError):
        activation_code_parse(text)


def test_a_card_saved_from_a_form_keeps_its_code_without_the_prefix(db):
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card

    card = Card(iccid=iccid_with_check_digit("894450010000000777"),
                activation_code="LPA:1$SMDP.example.com$ABC")
    card.full_clean()
    assert card.activation_code == "1$smdp.example.com$ABC"
