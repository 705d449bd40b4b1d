"""The local Stripe peer (``peer.py``, localstripe) for the Stripe tests and the contract driver.

One peer per test process, started on first use on a free 127.0.0.1 port and
stopped when the process ends. ``reset()`` empties it between tests. Webhooks it
sends go to the address registered last (``register_webhook``); ``WebhookInbox``
is a small 127.0.0.1 HTTP server that keeps what it receives, so a test can hand
those exact bytes, signed by the peer, to simdesk.
"""

from __future__ import annotations

import atexit
import http.server
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

SECRET_KEY = "sk_test_simdesk_local"
PUBLISHABLE_KEY = "pk_test_simdesk_local"
WEBHOOK_SECRET = "whsec_simdesk_local"
WEBHOOK_ID = "simdesk"

CARD_SUCCEEDS = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches fine, declined when charged
CARD_3DS = "4000002500003155"  # asks for 3-D Secure when confirmed
CARD_3DS_ALWAYS = "4000002760003184"  # asks for 3-D Secure, off-session too


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalStripe:
    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> str:
        if self.process is not None and self.process.poll() is None:
            return self.url
        port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("peer.py")), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the local Stripe peer stopped: "
                                   + self.process.stderr.read().decode()[-2000:])
            try:
                requests.get(f"{self.url}/_config/requests", timeout=1).raise_for_status()
                atexit.register(self.stop)
                return self.url
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the local Stripe peer did not start within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    # --- Talking to it --------------------------------------------------------------------

    def reset(self) -> None:
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def register_webhook(self, url: str, *, secret: str = WEBHOOK_SECRET) -> None:
        requests.post(f"{self.url}/_config/webhooks/{WEBHOOK_ID}",
                      data={"url": url, "secret": secret}, timeout=5).raise_for_status()

    def requests(self) -> list[dict]:
        """Every POST to /v1/… since the last reset: method, path, idempotency key, replayed."""
        return requests.get(f"{self.url}/_config/requests", timeout=5).json()

    def api(self, method: str, path: str, **data):
        response = requests.request(method, f"{self.url}{path}", data=data or None,
                                    auth=(SECRET_KEY, ""), timeout=10)
        return response.json()

    def payment_method(self, number: str = CARD_SUCCEEDS) -> str:
        """What Stripe.js does with the card the customer typed: a PaymentMethod id."""
        answer = self.api("POST", "/v1/payment_methods", type="card",
                          **{"card[number]": number, "card[exp_month]": "12",
                             "card[exp_year]": "2034", "card[cvc]": "123"})
        return answer["id"]

    def saved_method(self, number: str = CARD_SUCCEEDS) -> str:
        """A card kept at the peer for off-session charges: the token simdesk stores."""
        customer = self.api("POST", "/v1/customers", description="saved for renewals")["id"]
        method = self.payment_method(number)
        self.api("POST", f"/v1/payment_methods/{method}/attach", customer=customer)
        return f"{customer}/{method}"

    def authenticate(self, intent_id: str, *, success: bool = True) -> dict:
        """What the bank's 3-D Secure page does when the customer confirms (or not)."""
        intent = self.api("GET", f"/v1/payment_intents/{intent_id}")
        return self.api("POST", f"/v1/payment_intents/{intent_id}/_authenticate",
                        client_secret=intent["client_secret"],
                        success="true" if success else "false")

    def intents(self) -> list[dict]:
        return self.api("GET", "/v1/payment_intents", limit="100")["data"]

    def event_ids(self) -> list[str]:
        return [event["id"] for event in self.api("GET", "/v1/events", limit="100")["data"]]


class WebhookInbox:
    """An HTTP server on 127.0.0.1 that keeps each webhook the peer POSTs: (body, headers)."""

    def __init__(self):
        received = self.received = []
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {"Content-Type": self.headers.get("Content-Type", ""),
                           "Stripe-Signature": self.headers.get("Stripe-Signature", "")}
                with lock:
                    received.append((body, headers))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, event_ids: list[str], *, timeout: float = 10.0) -> list[tuple[bytes, dict]]:
        """Wait for the webhooks of ``event_ids`` (the peer sends each about a second after
        the event) and hand them over, oldest first; others received stay."""
        import json

        wanted = set(event_ids)
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = {json.loads(body)["id"]: (body, headers) for body, headers in self.received}
            if wanted <= set(got) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        missing = wanted - set(got)
        if missing:
            raise AssertionError(f"the peer did not send {sorted(missing)}")
        with self.lock:
            self.received[:] = [w for w in self.received if json.loads(w[0])["id"] not in wanted]
        ordered = [got[i] for i in event_ids]
        return sorted(ordered, key=lambda w: json.loads(w[0])["created"])


peer = LocalStripe()
_inbox: WebhookInbox | None = None


def inbox() -> WebhookInbox:
    global _inbox
    if _inbox is None:
        _inbox = WebhookInbox()
    return _inbox


def configure(settings) -> LocalStripe:
    """Point the test ``settings`` at the (started, emptied) peer and enable Stripe."""
    peer.start()
    peer.reset()
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = peer.url
    gateways = list(getattr(settings, "PAYMENT_GATEWAYS", ["sandbox"]))
    settings.PAYMENT_GATEWAYS = [*[g for g in gateways if g != "stripe"], "stripe"]
    return peer
