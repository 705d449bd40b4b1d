"""verify_signature, the check a receiver makes (and may copy): HMAC-SHA256 over
"<t>.<body>" with the endpoint's secret, compared in constant time, within a tolerance."""

import pytest

from simdesk.integrations.signing import SignatureError, sign, verify_signature

SECRET = "whsec_test-secret"
BODY = b'{"id":"evt_1","type":"order.paid","created":"2026-06-01T12:00:00+00:00","data":{}}'
T = 1_780_315_200


def test_it_accepts_what_simdesk_signed_and_returns_the_timestamp():
    header = sign(secret=SECRET, body=BODY, timestamp=T)

    assert verify_signature(secret=SECRET, body=BODY, header=header, now=T + 10) == T


def test_it_accepts_any_one_of_several_signatures():
    good = sign(secret=SECRET, body=BODY, timestamp=T).partition(",")[2]
    header = f"t={T},v1={'0' * 64},{good}"

    assert verify_signature(secret=SECRET, body=BODY, header=header, now=T) == T


@pytest.mark.parametrize(("change", "message"), [
    ({"body": BODY.replace(b"order.paid", b"card.resumed")}, "signature does not match"),
    ({"secret": "whsec_other"}, "signature does not match"),
    ({"header": None}, "missing Simdesk-Signature header"),
    ({"header": "v1=abc"}, "signature header without a valid timestamp"),
    ({"header": "t=soon,v1=abc"}, "signature header without a valid timestamp"),
    ({"now": T + 301}, "timestamp outside the tolerance"),
    ({"now": T - 301}, "timestamp outside the tolerance"),
])
def test_it_refuses(change, message):
    arguments = {"secret": SECRET, "body": BODY, "now": T,
                 "header": sign(secret=SECRET, body=BODY, timestamp=T)}
    arguments.update(change)

    with pytest.raises(SignatureError, match=message):
        verify_signature(**arguments)


def test_the_tolerance_is_the_receivers_choice():
    header = sign(secret=SECRET, body=BODY, timestamp=T)

    assert verify_signature(secret=SECRET, body=BODY, header=header, now=T + 3000,
                            tolerance_seconds=3600) == T
