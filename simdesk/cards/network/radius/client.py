"""The only module that speaks RADIUS on the wire for the adapter (pyrad)."""

import time
from functools import cache
from pathlib import Path

from pyrad import packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

from .base import DisconnectAnswer, DisconnectTarget

DICTIONARY_PATH = Path(__file__).with_name("dictionary")


@cache
def radius_dictionary() -> Dictionary:
    """The trimmed dictionary simdesk ships (RFC 2865/2866/2869/5176 and 3GPP)."""
    return Dictionary(str(DICTIONARY_PATH))


class DisconnectTimeout(Exception):
    """The NAS did not answer any of the tries."""


def disconnect_send(target: DisconnectTarget, *, timeout: float, tries: int) -> DisconnectAnswer:
    """Send one Disconnect-Request (RFC 5176) for the target session and wait for the
    ACK or NAK, sending it up to ``tries`` times. Raises DisconnectTimeout or OSError."""
    client = Client(server=target.address, coaport=target.port, secret=target.secret,
                    dict=radius_dictionary(), retries=tries, timeout=timeout)
    request = client.CreateCoAPacket(code=packet.DisconnectRequest)
    if target.user_name:
        request["User-Name"] = target.user_name
    if target.session_id:
        request["Acct-Session-Id"] = target.session_id
    request["Event-Timestamp"] = int(time.time())  # RFC 5176 §3.5 replay protection
    try:
        reply = client.SendPacket(request)
    except Timeout as error:
        raise DisconnectTimeout(
            f"no answer from {target.address}:{target.port} after {tries} tries") from error
    finally:
        client._CloseSocket()  # pyrad keeps the socket open between requests
    if reply.code == packet.DisconnectACK:
        return DisconnectAnswer(acked=True)
    raw = reply.get(101)  # Error-Cause, undecoded: the dictionary would name the value
    cause = int.from_bytes(raw[0], "big") if raw and len(raw[0]) == 4 else None
    return DisconnectAnswer(acked=False, error_cause=cause)
