"""The accounting hot path's own reader and answerer of RADIUS packets (RFC 2865 §3,
RFC 2866 §3-4).

pyrad decodes a packet into a dictionary-aware object; that is most of the CPU an
accounting packet costs. Accounting needs a dozen attributes as raw bytes, so this
reads them straight from the datagram, checks the Request Authenticator, and builds
the Accounting-Response (copying Proxy-State, as RFC 2866 requires). Tests check it
against pyrad byte for byte; everything else (Access-Request, Disconnect) uses pyrad.
"""

import hashlib

ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
VENDOR_SPECIFIC = 26
PROXY_STATE = 33
MAX_LENGTH = 4096


class BrokenPacket(Exception):
    """Not a well-formed RADIUS packet."""


def accounting_request_read(data: bytes, secret: bytes,
                            ) -> tuple[int, bytes, dict] | None:
    """(identifier, request authenticator, attributes) of an Accounting-Request signed
    with ``secret``; None when the signature does not match (wrong secret). Attributes
    map a type (or (vendor, type) for vendor-specific ones) to its raw values."""
    if len(data) < 20:
        raise BrokenPacket("shorter than a RADIUS header")
    code, identifier = data[0], data[1]
    length = int.from_bytes(data[2:4], "big")
    if length < 20 or length > len(data) or length > MAX_LENGTH:
        raise BrokenPacket(f"bad length {length}")
    if code != ACCOUNTING_REQUEST:
        raise BrokenPacket(f"code {code} is not an Accounting-Request")
    data = data[:length]  # octets past Length are padding (RFC 2865 §3)
    authenticator = data[4:20]
    expected = hashlib.md5(data[:4] + bytes(16) + data[20:] + secret,  # noqa: S324 - RFC 2866
                           usedforsecurity=False).digest()
    if expected != authenticator:
        return None
    attributes: dict = {}
    position = 20
    while position < length:
        if position + 2 > length:
            raise BrokenPacket("attribute header cut short")
        kind, size = data[position], data[position + 1]
        if size < 2 or position + size > length:
            raise BrokenPacket(f"attribute {kind} has bad length {size}")
        value = data[position + 2:position + size]
        position += size
        if kind == VENDOR_SPECIFIC and len(value) >= 6:
            vendor = int.from_bytes(value[:4], "big")
            inner = 4
            subs = []
            while inner + 2 <= len(value):
                sub_kind, sub_size = value[inner], value[inner + 1]
                if sub_size < 2 or inner + sub_size > len(value):
                    subs = None  # not the RFC 2865 §5.26 layout: keep it whole
                    break
                subs.append(((vendor, sub_kind), value[inner + 2:inner + sub_size]))
                inner += sub_size
            if subs is not None and inner == len(value):
                for key, sub_value in subs:
                    attributes.setdefault(key, []).append(sub_value)
                continue
        attributes.setdefault(kind, []).append(value)
    return identifier, authenticator, attributes


def accounting_response(identifier: int, request_authenticator: bytes, secret: bytes,
                        proxy_states: list[bytes] = ()) -> bytes:
    """The Accounting-Response to a request, its Proxy-State attributes copied in order."""
    body = b"".join(bytes([PROXY_STATE, len(state) + 2]) + state for state in proxy_states)
    header = bytes([ACCOUNTING_RESPONSE, identifier]) + (20 + len(body)).to_bytes(2, "big")
    signature = hashlib.md5(header + request_authenticator + body + secret,  # noqa: S324
                            usedforsecurity=False).digest()
    return header + signature + body
