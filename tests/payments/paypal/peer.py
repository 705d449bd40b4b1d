"""A local PayPal for tests: a real HTTP server on 127.0.0.1 that answers the REST calls
simdesk makes, in the request and response shapes PayPal documents.

- ``POST /v1/oauth2/token``: client credentials (HTTP basic auth); wrong ones → 401.
  Every other API call needs its ``Bearer`` token.
- ``POST /v2/checkout/orders``: an order (intent CAPTURE); ``payment_source.paypal.
  experience_context`` gives a ``payer-action`` link, otherwise ``approve``. With
  ``payment_source.paypal.vault_id`` the order is paid at once from the vaulted wallet
  (or parked as ``PAYER_ACTION_REQUIRED``). Amounts must have exactly the currency's
  decimals (``DECIMAL_PRECISION`` otherwise: "1200.00" JPY is refused).
- ``GET /v2/checkout/orders/{id}``, ``POST /v2/checkout/orders/{id}/capture`` (only
  after approval: ``ORDER_NOT_APPROVED``; once: ``ORDER_ALREADY_CAPTURED``).
- ``POST /v2/payments/captures/{id}/refund``: never more than is left
  (``REFUND_AMOUNT_EXCEEDED``).
- ``PayPal-Request-Id`` on create, capture and refund: the same id gets the first answer.
- ``GET /checkoutnow?token=…&payer=…``: the page the customer approves at (the approve
  link). ``payer=buyer`` pays, ``payer=declining`` approves but its funding is declined
  at capture (capture ``DECLINED``, event ``PAYMENT.CAPTURE.DENIED``),
  ``payer=instrument_declined`` gets capture's 422 ``INSTRUMENT_DECLINED``,
  ``action=cancel`` goes back to the cancel URL. Answers 302 to the order's return URL
  with ``?token=<order id>&PayerID=…``.
- Webhooks: what happens queues events (``CHECKOUT.ORDER.APPROVED``,
  ``PAYMENT.CAPTURE.COMPLETED`` / ``DENIED``, ``PAYMENT.CAPTURE.REFUNDED``);
  ``take_webhooks()`` hands them over signed as PayPal signs: SHA256withRSA over
  ``<transmission id>|<transmission time>|<webhook id>|<CRC32 of the body, decimal>``,
  with the ``PAYPAL-*`` headers and a ``PAYPAL-CERT-URL`` this peer serves.
- ``POST /v1/notifications/verify-webhook-signature`` really verifies: it recomputes
  the CRC32 of the ``webhook_event`` it is given and checks the signature with its own
  certificate, so a changed amount or a forged signature gives ``FAILURE``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CLIENT_ID = "AXsimdeskTestClient"
CLIENT_SECRET = "EKsimdeskTestSecret"
WEBHOOK_ID = "4JH86294D6297924G"
DECIMALS = {"JPY": 0, "HUF": 0, "TWD": 0}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(length: int = 17) -> str:
    alphabet = "ABCDEFGHJKLMNPRSTUVWXY0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def compact(document) -> bytes:
    """How this peer writes JSON (and so what it signs): compact, keys in their order."""
    return json.dumps(document, separators=(",", ":")).encode()


class PeerError(Exception):
    def __init__(self, status: int, name: str, issue: str = "", description: str = "",
                 links: list | None = None):
        super().__init__(name)
        self.status = status
        self.document = {"name": name, "message": description or name,
                         "debug_id": secrets.token_hex(6),
                         "details": [{"issue": issue, "description": description}] if issue
                         else [], "links": links or []}


class PaypalPeer:
    """The peer's state and behaviour; ``serve()`` puts it on the network."""

    def __init__(self, *, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                 webhook_id=WEBHOOK_ID):
        self.client_id, self.client_secret, self.webhook_id = client_id, client_secret, webhook_id
        self.lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        self.order_payer: dict[str, str] = {}   # order id → payer behaviour
        self.order_urls: dict[str, tuple[str, str]] = {}
        self.order_vault: dict[str, bool] = {}  # store_in_vault asked
        self.captures: dict[str, str] = {}      # capture id → order id
        self.vault: dict[str, dict] = {}        # vault id → {"behaviour", "email", "customer"}
        self.replies: dict[tuple, tuple[int, dict]] = {}
        self.tokens: set[str] = set()
        self.outbox: list[dict] = []
        self.calls: list[tuple[str, str]] = []  # (method, path) of every API call
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts")])
        self.certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(datetime.now(UTC) - timedelta(days=1))
            .not_valid_after(datetime.now(UTC) + timedelta(days=30))
            .sign(self.key, hashes.SHA256()))
        self.server: ThreadingHTTPServer | None = None
        self.base_url = ""

    def reset(self) -> None:
        """Forget every order, vaulted wallet, remembered request id and queued webhook
        (each test's simdesk database starts empty, and its idempotency keys repeat)."""
        with self.lock:
            for store in (self.orders, self.order_payer, self.order_urls, self.order_vault,
                          self.captures, self.vault, self.replies):
                store.clear()
            self.outbox.clear()
            self.calls.clear()

    # --- On the network ------------------------------------------------------------------

    def serve(self) -> PaypalPeer:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _answer(self, status, body=b"", headers=None):
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = peer.handle(method, self.path, dict(self.headers), raw)
                self._answer(status, body, headers)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, name="paypal-peer",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def cert_url(self) -> str:
        return f"{self.base_url}/v1/notifications/certs/CERT-360caa42-fca2a594-peer"

    def handle(self, method: str, target: str, headers: dict, raw: bytes):
        """One HTTP request → (status, body, headers)."""
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query)
        headers = {name.lower(): value for name, value in headers.items()}
        json_type = {"Content-Type": "application/json"}
        try:
            if method == "POST" and path == "/v1/oauth2/token":
                return 200, compact(self._token(headers, raw)), json_type
            if method == "GET" and path == "/checkoutnow":
                return 302, b"", {"Location": self._approve(query)}
            if method == "GET" and path.startswith("/v1/notifications/certs/"):
                pem = self.certificate.public_bytes(serialization.Encoding.PEM)
                return 200, pem, {"Content-Type": "application/x-pem-file"}
            self._authenticate(headers)
            with self.lock:
                self.calls.append((method, path))
            body = json.loads(raw) if raw else {}
            status, document = self._api(method, path, headers, body)
            return status, compact(document), json_type
        except PeerError as error:
            return error.status, compact(error.document), json_type
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            document = PeerError(400, "INVALID_REQUEST", "MALFORMED_REQUEST_JSON",
                                 str(error)).document
            return 400, compact(document), json_type

    # --- Auth ----------------------------------------------------------------------------

    def _token(self, headers: dict, raw: bytes) -> dict:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            raise _OAuthError()
        if parse_qs(raw.decode()).get("grant_type") != ["client_credentials"]:
            raise PeerError(400, "unsupported_grant_type")
        token = f"A21AA{secrets.token_urlsafe(24)}"
        with self.lock:
            self.tokens.add(token)
        return {"scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token, "token_type": "Bearer", "app_id": "APP-80W284485P519543T",
                "expires_in": 32400, "nonce": f"{_now()}{secrets.token_hex(8)}"}

    def _authenticate(self, headers: dict) -> None:
        auth = headers.get("authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:] in self.tokens):
            raise PeerError(401, "AUTHENTICATION_FAILURE",
                            description="Authentication failed due to invalid authentication "
                                        "credentials or a missing Authorization header.")

    # --- The API -------------------------------------------------------------------------

    def _api(self, method: str, path: str, headers: dict, body: dict):
        request_id = headers.get("paypal-request-id")
        if method == "POST" and path == "/v1/notifications/verify-webhook-signature":
            return 200, {"verification_status": self.verify(body)}
        routes = [
            ("POST", r"/v2/checkout/orders", self._create),
            ("GET", r"/v2/checkout/orders/(?P<id>\w+)", self._get),
            ("POST", r"/v2/checkout/orders/(?P<id>\w+)/capture", self._capture),
            ("POST", r"/v2/payments/captures/(?P<id>\w+)/refund", self._refund),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    key = (verb, pattern, match.groupdict().get("id"), request_id)
                    if request_id and key in self.replies:
                        return self.replies[key]
                    reply = action(body, **match.groupdict())
                    if request_id:
                        self.replies[key] = reply
                    return reply
        raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")

    def _amount(self, amount: dict) -> dict:
        currency, value = amount["currency_code"], amount["value"]
        decimals = DECIMALS.get(currency, 2)
        pattern = r"[0-9]+" + (rf"\.[0-9]{{{decimals}}}" if decimals else "")
        if not re.fullmatch(pattern, value):
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION",
                            f"{value!r} is not an amount in {currency}")
        return {"currency_code": currency, "value": value}

    def _create(self, body: dict, **_kw):
        if body.get("intent") != "CAPTURE":
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "INTENT_NOT_SUPPORTED")
        unit = body["purchase_units"][0]
        order_id = _id()
        wallet = (body.get("payment_source") or {}).get("paypal")
        order = {
            "id": order_id, "intent": "CAPTURE", "status": "CREATED",
            "purchase_units": [{
                "reference_id": unit.get("reference_id", "default"),
                "amount": self._amount(unit["amount"]),
                "payee": {"email_address": "merchant@example.com",
                          "merchant_id": "C7CYMKZDG8D6E"},
                **{k: unit[k] for k in ("custom_id", "invoice_id", "description") if k in unit},
            }],
            "create_time": _now(),
            "links": [{"href": f"{self.base_url}/v2/checkout/orders/{order_id}", "rel": "self",
                       "method": "GET"}],
        }
        self.orders[order_id] = order
        if wallet is not None:
            context = wallet.get("experience_context") or {}
            self.order_urls[order_id] = (context.get("return_url", ""),
                                         context.get("cancel_url", ""))
        if wallet and wallet.get("vault_id"):
            return self._pay_from_vault(order, wallet)
        approve = {"href": f"{self.base_url}/checkoutnow?token={order_id}",
                   "rel": "payer-action" if wallet else "approve", "method": "GET"}
        order["links"].append(approve)
        if wallet is not None:
            vault = (wallet.get("attributes") or {}).get("vault") or {}
            self.order_vault[order_id] = vault.get("store_in_vault") == "ON_SUCCESS"
            order["payment_source"] = {"paypal": {}}
        return 201, order

    def _pay_from_vault(self, order: dict, wallet: dict):
        saved = self.vault.get(wallet["vault_id"])
        if saved is None:
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "INVALID_PAYPAL_VAULT_ID")
        order["payment_source"] = {"paypal": {
            "email_address": saved["email"], "account_id": saved["account"],
            "attributes": {"vault": {"id": wallet["vault_id"], "status": "VAULTED",
                                     "customer": {"id": saved["customer"]}}}}}
        if saved["behaviour"] == "payer_action":
            order["status"] = "PAYER_ACTION_REQUIRED"
            order["links"].append({"href": f"{self.base_url}/checkoutnow?token={order['id']}",
                                   "rel": "payer-action", "method": "GET"})
            return 201, order
        self.order_payer[order["id"]] = saved["behaviour"]
        order["status"] = "APPROVED"
        return self._capture({}, id=order["id"], created=True)

    def _get(self, _body: dict, *, id: str):
        order = self.orders.get(id)
        if order is None:
            raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return 200, order

    def _capture(self, _body: dict, *, id: str, created: bool = False):
        order = self.orders.get(id)
        if order is None:
            raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if order["status"] == "COMPLETED":
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED",
                            "Order already captured.")
        if order["status"] != "APPROVED":
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED",
                            "Payer has not yet approved the Order for payment.")
        payer = self.order_payer.get(id, "buyer")
        if payer == "instrument_declined":
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED",
                            "The instrument presented was either declined by the processor "
                            "or bank, or it can't be used for this payment.",
                            links=[{"href": f"{self.base_url}/checkoutnow?token={id}",
                                    "rel": "redirect", "method": "GET"}])
        unit = order["purchase_units"][0]
        capture_id = _id()
        declined = payer == "declining"
        capture = {
            "id": capture_id, "status": "DECLINED" if declined else "COMPLETED",
            "amount": dict(unit["amount"]), "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            **{k: unit[k] for k in ("custom_id", "invoice_id") if k in unit},
            "create_time": _now(), "update_time": _now(),
            "links": [{"href": f"{self.base_url}/v2/payments/captures/{capture_id}",
                       "rel": "self", "method": "GET"},
                      {"href": f"{self.base_url}/v2/checkout/orders/{id}", "rel": "up",
                       "method": "GET"}],
        }
        if not declined:
            capture["links"].insert(1, {
                "href": f"{self.base_url}/v2/payments/captures/{capture_id}/refund",
                "rel": "refund", "method": "POST"})
        unit["payments"] = {"captures": [capture]}
        self.captures[capture_id] = id
        order["status"] = "COMPLETED"
        order["update_time"] = _now()
        if self.order_vault.get(id) and not declined:
            vault_id = self.vault_create(customer="", email=self.order_payer_email(id))
            order["payment_source"]["paypal"].setdefault("attributes", {})["vault"] = {
                "id": vault_id, "status": "VAULTED",
                "customer": {"id": self.vault[vault_id]["customer"]}}
        self._emit("PAYMENT.CAPTURE.DENIED" if declined else "PAYMENT.CAPTURE.COMPLETED",
                   "capture", {**capture, "supplementary_data": {
                       "related_ids": {"order_id": id}}},
                   "Payment denied" if declined else "Payment completed")
        return 201, order

    def order_payer_email(self, order_id: str) -> str:
        return (self.orders[order_id].get("payment_source", {}).get("paypal", {})
                .get("email_address", "buyer@example.com"))

    def _refund(self, body: dict, *, id: str):
        order_id = self.captures.get(id)
        if order_id is None:
            raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        unit = self.orders[order_id]["purchase_units"][0]
        capture = unit["payments"]["captures"][0]
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED"
                            if capture["status"] == "REFUNDED" else "INVALID_RESOURCE_ID")
        currency = capture["amount"]["currency_code"]
        refunds = unit["payments"].setdefault("refunds", [])
        done = sum((Decimal(r["amount"]["value"]) for r in refunds), Decimal(0))
        total = Decimal(capture["amount"]["value"])
        amount = self._amount(body["amount"]) if body.get("amount") else None
        if amount and amount["currency_code"] != currency:
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "REFUND_CURRENCY_MISMATCH")
        wanted = Decimal(amount["value"]) if amount else total - done
        if wanted <= 0 or done + wanted > total:
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED",
                            "The refund amount must be less than or equal to the capture "
                            "amount that has not yet been refunded.")
        refund_id = _id()
        value = amount["value"] if amount else str(wanted)
        refund = {"id": refund_id, "status": "COMPLETED",
                  "amount": {"currency_code": currency, "value": value},
                  "create_time": _now(), "update_time": _now(),
                  "links": [{"href": f"{self.base_url}/v2/payments/refunds/{refund_id}",
                             "rel": "self", "method": "GET"},
                            {"href": f"{self.base_url}/v2/payments/captures/{id}",
                             "rel": "up", "method": "GET"}]}
        refunds.append(refund)
        capture["status"] = "REFUNDED" if done + wanted == total else "PARTIALLY_REFUNDED"
        self._emit("PAYMENT.CAPTURE.REFUNDED", "refund",
                   {**refund, "supplementary_data": {"related_ids": {"order_id": order_id}}},
                   "A payment was refunded")
        return 201, refund

    # --- The customer at PayPal ----------------------------------------------------------

    def _approve(self, query: dict) -> str:
        order_id = (query.get("token") or [""])[0]
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
            return_url, cancel_url = self.order_urls.get(order_id, ("", ""))
            if (query.get("action") or [""])[0] == "cancel":
                return f"{cancel_url}?{urlencode({'token': order_id})}"
            payer = (query.get("payer") or ["buyer"])[0]
            payer_id = _id(13)
            if order["status"] == "PAYER_ACTION_REQUIRED":
                # The vaulted wallet's owner did what PayPal asked: capture may go on.
                order["status"] = "APPROVED"
                self.order_payer[order_id] = "buyer"
            elif order["status"] == "CREATED":
                self.order_payer[order_id] = payer
                order["status"] = "APPROVED"
                email = f"{payer}@example.com"
                order.setdefault("payment_source", {})["paypal"] = {
                    "email_address": email, "account_id": payer_id,
                    "account_status": "VERIFIED",
                    "name": {"given_name": "Test", "surname": "Buyer"}}
                order["payer"] = {"email_address": email, "payer_id": payer_id}
                self._emit("CHECKOUT.ORDER.APPROVED", "checkout-order", json.loads(
                    compact(order)), "An order has been approved by buyer")
            return f"{return_url}?{urlencode({'token': order_id, 'PayerID': payer_id})}"

    def vault_create(self, *, customer: str, email: str = "buyer@example.com",
                     behaviour: str = "buyer") -> str:
        """A wallet saved in the vault (what PayPal keeps after ``store_in_vault``)."""
        vault_id = _id(7).lower()
        with self.lock:
            self.vault[vault_id] = {"behaviour": behaviour, "email": email,
                                    "account": _id(13), "customer": customer or _id(8)}
        return vault_id

    # --- Webhooks ------------------------------------------------------------------------

    def _emit(self, event_type: str, resource_type: str, resource: dict, summary: str):
        self.outbox.append({
            "id": f"WH-{_id(17)}-{_id(17)}", "event_version": "1.0", "create_time": _now(),
            "resource_type": resource_type, "resource_version": "2.0",
            "event_type": event_type, "summary": summary, "resource": resource,
            "links": [],
        })

    def take_webhooks(self) -> list[tuple[bytes, dict[str, str]]]:
        """The events queued since the last call, each signed as PayPal signs them."""
        with self.lock:
            events, self.outbox = self.outbox, []
        return [self.sign(event) for event in events]

    def sign(self, event: dict, *, webhook_id: str | None = None):
        body = compact(event)
        transmission_id = str(uuid.uuid1())
        transmission_time = _now()
        message = (f"{transmission_id}|{transmission_time}|{webhook_id or self.webhook_id}|"
                   f"{zlib.crc32(body) & 0xFFFFFFFF}").encode()
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return body, {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def verify(self, request: dict) -> str:
        for name in ("auth_algo", "cert_url", "transmission_id", "transmission_sig",
                     "transmission_time", "webhook_id", "webhook_event"):
            if not request.get(name):
                raise PeerError(400, "VALIDATION_ERROR", "MISSING_REQUIRED_PARAMETER", name)
        if request["auth_algo"] != "SHA256withRSA" or request["cert_url"] != self.cert_url:
            return "FAILURE"
        crc = zlib.crc32(compact(request["webhook_event"])) & 0xFFFFFFFF
        message = (f"{request['transmission_id']}|{request['transmission_time']}|"
                   f"{request['webhook_id']}|{crc}").encode()
        try:
            signature = base64.b64decode(request["transmission_sig"], validate=True)
            self.certificate.public_key().verify(signature, message, padding.PKCS1v15(),
                                                 hashes.SHA256())
        except (InvalidSignature, ValueError):
            return "FAILURE"
        return "SUCCESS"


class _OAuthError(PeerError):
    def __init__(self):
        super().__init__(401, "invalid_client")
        self.document = {"error": "invalid_client",
                         "error_description": "Client Authentication failed"}


_peer: PaypalPeer | None = None
_peer_lock = threading.Lock()


def get_peer() -> PaypalPeer:
    """The one peer of this test process, started on first use."""
    global _peer
    with _peer_lock:
        if _peer is None:
            _peer = PaypalPeer().serve()
        return _peer
