"""The accounting hot path reads and answers packets exactly as pyrad does."""

import hashlib
from collections import OrderedDict

import pytest
from pyrad import packet

from simdesk.cards.network.radius.client import radius_dictionary
from simdesk.radius.wire import BrokenPacket, accounting_request_read, accounting_response

SECRET = b"wire-test-secret"


def request_bytes(**extra) -> tuple[packet.AcctPacket, bytes]:
    request = packet.AcctPacket(dict=radius_dictionary(), secret=SECRET, id=77)
    request["Acct-Status-Type"] = "Interim-Update"
    request["User-Name"] = "001010123456789"
    request["Acct-Session-Id"] = "s-1"
    request["Acct-Input-Octets"] = 123
    request["Acct-Input-Gigawords"] = 2
    request["3GPP-SGSN-MCC-MNC"] = "23415"
    request["3GPP-IMSI"] = "001010123456789"
    for name, value in extra.items():
        request[name.replace("_", "-")] = value
    return request, request.RequestPacket()


def test_it_reads_the_attributes_pyrad_reads():
    _request, raw = request_bytes()
    decoded = packet.AcctPacket(packet=raw, dict=radius_dictionary(), secret=SECRET)

    identifier, authenticator, attributes = accounting_request_read(raw, SECRET)

    assert (identifier, authenticator) == (decoded.id, decoded.authenticator)
    assert attributes == dict(OrderedDict.items(decoded))  # raw values by type
    assert attributes[(10415, 18)] == [b"23415"]  # 3GPP-SGSN-MCC-MNC
    assert attributes[52] == [(2).to_bytes(4, "big")]  # Acct-Input-Gigawords


def test_its_accounting_response_is_pyrads_byte_for_byte():
    request, raw = request_bytes(Proxy_State=b"proxy-1")
    decoded = packet.AcctPacket(packet=raw, dict=radius_dictionary(), secret=SECRET)
    identifier, authenticator, attributes = accounting_request_read(raw, SECRET)

    ours = accounting_response(identifier, authenticator, SECRET, attributes[33])

    assert ours == decoded.CreateReply().ReplyPacket()
    assert request.VerifyReply(request.CreateReply(packet=ours), ours)


def test_a_wrong_secret_is_not_a_valid_request():
    _request, raw = request_bytes()

    assert accounting_request_read(raw, b"another-secret") is None


@pytest.mark.parametrize("raw", [
    b"\x04\x01\x00",  # shorter than a header
    b"\x04\x01\x00\x30" + bytes(16),  # says 48 bytes, has 20
    b"\x01\x01\x00\x14" + bytes(16),  # an Access-Request
])
def test_a_malformed_packet_is_refused(raw):
    with pytest.raises(BrokenPacket):
        accounting_request_read(raw, SECRET)


def test_a_signed_packet_with_an_attribute_running_past_its_end_is_refused():
    body = b"\x01\x09\x00"  # User-Name says 9 bytes, 1 follows
    header = b"\x04\x01" + (20 + len(body)).to_bytes(2, "big")
    signature = hashlib.md5(header + bytes(16) + body + SECRET).digest()  # noqa: S324 - RFC 2866

    with pytest.raises(BrokenPacket):
        accounting_request_read(header + signature + body, SECRET)
