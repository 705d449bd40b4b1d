"""What the RADIUS adapter needs to know about a card's sessions, and what the NAS said."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DisconnectTarget:
    """One open session: the NAS to ask (address, CoA port, shared secret) and how
    the NAS identifies the session (User-Name and Acct-Session-Id)."""

    nas_name: str
    address: str
    port: int
    secret: bytes
    user_name: str
    session_id: str


@dataclass(frozen=True)
class DisconnectAnswer:
    """Disconnect-ACK (``acked``) or Disconnect-NAK with its Error-Cause, if any."""

    acked: bool
    error_cause: int | None = None


# RFC 5176 §3.5 Error-Cause values, for the record staff read.
ERROR_CAUSES = {
    201: "Residual Session Context Removed", 202: "Invalid EAP Packet",
    401: "Unsupported Attribute", 402: "Missing Attribute", 403: "NAS Identification Mismatch",
    404: "Invalid Request", 405: "Unsupported Service", 406: "Unsupported Extension",
    407: "Invalid Attribute Value", 501: "Administratively Prohibited",
    502: "Request Not Routable (Proxy)", 503: "Session Context Not Found",
    504: "Session Context Not Removable", 505: "Other Proxy Processing Error",
    506: "Resources Unavailable", 507: "Request Initiated",
    508: "Multiple Session Selection Unsupported",
}
SESSION_GONE = 503  # the NAS has no such session: nothing left to disconnect


def error_cause_text(code: int | None) -> str:
    if code is None:
        return "no Error-Cause"
    return f"Error-Cause {code} {ERROR_CAUSES.get(code, 'unknown')}"
