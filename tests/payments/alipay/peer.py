"""A local Alipay open-platform gateway for tests: real HTTP, real RSA2 signatures.

It serves ``/gateway.do`` on 127.0.0.1 (a free port, in a thread) the way Alipay
documents it, with its own RSA key pair (made here with ``cryptography``, never
the SDK simdesk uses) and the public key of each app it knows:

- every request's ``sign`` is checked (SHA256withRSA over the sorted ``k=v``
  pairs but ``sign``/``sign_type``) with the app's public key, as are ``app_id``,
  ``sign_type=RSA2``, ``charset`` and a ``timestamp`` in Beijing time no older
  than 30 minutes; a tampered parameter gets Alipay's ``isv.invalid-signature``;
- ``alipay.trade.page.pay`` / ``alipay.trade.wap.pay`` (a browser GET) answer the
  cashier page. The "customer" (a test) then pays or gives up there: paying
  queues the asynchronous notify (form-encoded, signed with the peer's private
  key) for ``notify_url`` and redirects the browser to ``return_url`` with
  signed parameters; giving up closes the trade and queues a TRADE_CLOSED notify;
- ``alipay.trade.query`` and ``alipay.trade.refund`` answer
  ``{"<method>_response": {...}, "sign": "..."}`` with the sign over the exact
  text of the response object; refunds are idempotent by ``out_request_no`` and
  never exceed the trade; a refund queues the notify Alipay sends for it.

Notifies are not POSTed by the peer: tests take them (``take_notifies``) and
deliver them through Django's test client, deciding when and how often.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit
from urllib.request import HTTPErrorProcessor, Request, build_opener
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: How old a request's timestamp may be before the peer refuses it.
MAX_REQUEST_AGE = timedelta(minutes=30)
ZERO_DECIMAL = {"JPY", "KRW"}
PRODUCT_CODES = {"alipay.trade.page.pay": "FAST_INSTANT_TRADE_PAY",
                 "alipay.trade.wap.pay": "QUICK_WAP_WAY"}
SELLER_ID = "2088102177846880"


# --- Keys and signatures (Alipay's algorithm, written out) ----------------------------------


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def signing_string(params: dict[str, str]) -> str:
    """What Alipay signs in a notify or a return: every parameter but sign and sign_type,
    sorted by name, as k=v joined with &."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params)
                    if key not in ("sign", "sign_type"))


def request_signing_string(params: dict[str, str]) -> str:
    """What an app signs in a request: every non-empty parameter but sign (sign_type
    included), sorted by name, as k=v joined with &."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params)
                    if key != "sign" and params[key] != "")


def rsa2_sign(key: rsa.RSAPrivateKey, text: str) -> str:
    signature = key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa2_verify(public_key, text: str, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), text.encode("utf-8"),
                          padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def sign_params(key: rsa.RSAPrivateKey, params: dict[str, str]) -> dict[str, str]:
    """``params`` with ``sign_type`` and the RSA2 ``sign`` Alipay would add."""
    params = {**params, "sign_type": "RSA2"}
    return {**params, "sign": rsa2_sign(key, signing_string(params))}


def beijing_now() -> str:
    return datetime.now(BEIJING).strftime(TIME_FORMAT)


# --- State ---------------------------------------------------------------------------------


@dataclass
class Trade:
    app_id: str
    out_trade_no: str
    trade_no: str
    total_amount: str
    trans_currency: str  # "" for a domestic (CNY) trade
    subject: str
    method: str  # the cashier it was opened with: page or WAP pay
    notify_url: str
    return_url: str
    status: str = "WAIT_BUYER_PAY"
    gmt_create: str = field(default_factory=beijing_now)
    gmt_payment: str = ""
    gmt_close: str = ""
    refunds: dict[str, str] = field(default_factory=dict)  # out_request_no -> amount
    refunded: Decimal = Decimal(0)

    @property
    def currency(self) -> str:
        return self.trans_currency or "CNY"


class PeerError(Exception):
    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str):
        super().__init__(sub_msg)
        self.answer = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _invalid(sub_code: str, sub_msg: str) -> PeerError:
    return PeerError("40002", "Invalid Arguments", sub_code, sub_msg)


def _business(sub_code: str, sub_msg: str) -> PeerError:
    return PeerError("40004", "Business Failed", sub_code, sub_msg)


def _amount(text, currency: str, *, name: str) -> Decimal:
    places = 0 if currency in ZERO_DECIMAL else 2
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        raise _invalid("isv.invalid-parameter", f"{name} is not a decimal string")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _invalid("isv.invalid-parameter", f"{name} is not a number") from None
    if -value.normalize().as_tuple().exponent > places or value <= 0 \
            or value > Decimal(100_000_000):
        raise _invalid("isv.invalid-parameter", f"{name} {text} is not an amount in {currency}")
    return value


class AlipayPeer:
    """Alipay's gateway for one test session (see the module docstring)."""

    def __init__(self):
        self.key = new_key()  # Alipay's own key pair
        self.apps: dict[str, object] = {}  # app_id -> the app's public key
        self.trades: dict[tuple[str, str], Trade] = {}
        self.requests: list[dict[str, str]] = []  # every verified request, for tests to read
        self._notifies: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._trade_numbers = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="alipay-peer")
        self.thread.start()

    # For tests ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def gateway_url(self) -> str:
        return f"{self.base_url}/gateway.do"

    @property
    def public_key_pem(self) -> str:
        """Alipay's public key, as the app's settings hold it."""
        return public_pem(self.key)

    def register_app(self, app_id: str, app_public_key_pem: str) -> None:
        self.apps[app_id] = serialization.load_pem_public_key(app_public_key_pem.encode())

    def reset(self) -> None:
        with self._lock:
            self.trades.clear()
            self.requests.clear()
            self._notifies.clear()

    def take_notifies(self) -> list[tuple[str, bytes]]:
        """(notify_url, form body) of every notify sent since the last call."""
        with self._lock:
            taken, self._notifies[:] = list(self._notifies), []
        return taken

    def trade(self, out_trade_no: str) -> Trade | None:
        with self._lock:
            return next((t for (_app, no), t in self.trades.items() if no == out_trade_no),
                        None)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # Requests ----------------------------------------------------------------------------

    def check_request(self, params: dict[str, str]) -> tuple[str, dict]:
        """The method and biz_content of a correctly signed request; PeerError otherwise."""
        app_key = self.apps.get(params.get("app_id", ""))
        if app_key is None:
            raise _invalid("isv.invalid-app-id", "unknown app_id")
        if params.get("sign_type") != "RSA2":
            raise _invalid("isv.invalid-signature-type", "sign_type must be RSA2")
        if params.get("charset", "").lower() != "utf-8":
            raise _invalid("isv.invalid-charset", "charset must be utf-8")
        try:
            stamp = datetime.strptime(params.get("timestamp", ""), TIME_FORMAT)
        except ValueError:
            raise _invalid("isv.invalid-timestamp", "timestamp is not yyyy-MM-dd HH:mm:ss") \
                from None
        age = datetime.now(BEIJING).replace(tzinfo=None) - stamp
        if not timedelta(minutes=-5) <= age <= MAX_REQUEST_AGE:
            raise _invalid("isv.invalid-timestamp",
                           f"timestamp {stamp} is not within 30 minutes of Beijing time")
        if not rsa2_verify(app_key, request_signing_string(params), params.get("sign", "")):
            raise _invalid("isv.invalid-signature", "the request's sign does not verify")
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            raise _invalid("isv.invalid-parameter", "biz_content is not JSON") from None
        if not isinstance(biz, dict):
            raise _invalid("isv.invalid-parameter", "biz_content is not an object")
        with self._lock:
            self.requests.append(params)
        return params.get("method", ""), biz

    def open_cashier(self, params: dict[str, str], method: str, biz: dict) -> Trade:
        if biz.get("product_code") != PRODUCT_CODES[method]:
            raise _invalid("isv.invalid-parameter",
                           f"product_code of {method} is {PRODUCT_CODES[method]}")
        out_trade_no = biz.get("out_trade_no")
        if not isinstance(out_trade_no, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,64}",
                                                                 out_trade_no):
            raise _invalid("isv.invalid-parameter", "out_trade_no: up to 64 of [A-Za-z0-9_]")
        trans_currency = biz.get("trans_currency") or ""
        _amount(biz.get("total_amount"), trans_currency or "CNY", name="total_amount")
        subject = biz.get("subject")
        if not isinstance(subject, str) or not subject or re.search(r"[/=&]", subject):
            raise _invalid("isv.invalid-parameter", "subject is empty or has / = &")
        app_id = params["app_id"]
        with self._lock:
            trade = self.trades.get((app_id, out_trade_no))
            if trade is None:
                trade = Trade(app_id=app_id, out_trade_no=out_trade_no,
                              trade_no=f"2026{next(self._trade_numbers):024d}",
                              total_amount=biz["total_amount"], trans_currency=trans_currency,
                              subject=subject, method=method,
                              notify_url=params.get("notify_url", ""),
                              return_url=params.get("return_url", ""))
                self.trades[(app_id, out_trade_no)] = trade
            elif (trade.total_amount, trade.trans_currency) != (biz["total_amount"],
                                                                trans_currency):
                raise _business("ACQ.CONTEXT_INCONSISTENT",
                                "out_trade_no was used with another amount")
            else:
                trade.method = method
        return trade

    def pay(self, trade_no: str) -> str:
        """The customer paid: the notify is queued; returns where the browser goes next."""
        with self._lock:
            trade = self._by_trade_no(trade_no)
            if trade.status == "WAIT_BUYER_PAY":
                trade.status = "TRADE_SUCCESS"
                trade.gmt_payment = beijing_now()
                self._queue_notify(trade)
        if not trade.return_url:
            return ""
        query = sign_params(self.key, {
            "charset": "utf-8", "out_trade_no": trade.out_trade_no,
            "method": f"{trade.method}.return", "total_amount": trade.total_amount,
            "trade_no": trade.trade_no, "auth_app_id": trade.app_id, "version": "1.0",
            "app_id": trade.app_id, "seller_id": SELLER_ID, "timestamp": beijing_now(),
        })
        separator = "&" if "?" in trade.return_url else "?"
        return f"{trade.return_url}{separator}{urlencode(query)}"

    def give_up(self, trade_no: str) -> None:
        """The customer left without paying and the trade closed."""
        with self._lock:
            trade = self._by_trade_no(trade_no)
            if trade.status == "WAIT_BUYER_PAY":
                trade.status = "TRADE_CLOSED"
                trade.gmt_close = beijing_now()
                self._queue_notify(trade)

    def query(self, app_id: str, biz: dict) -> dict:
        trade = self._find(app_id, biz)
        answer = {"code": "10000", "msg": "Success", "trade_no": trade.trade_no,
                  "out_trade_no": trade.out_trade_no, "buyer_logon_id": "159****5620",
                  "trade_status": trade.status, "total_amount": trade.total_amount,
                  "buyer_user_id": "2088102177846881"}
        if trade.trans_currency:
            answer["trans_currency"] = trade.trans_currency
        if trade.gmt_payment:
            answer.update(send_pay_date=trade.gmt_payment, receipt_amount=trade.total_amount,
                          buyer_pay_amount=trade.total_amount, invoice_amount=trade.total_amount,
                          point_amount="0.00")
        return answer

    def refund(self, app_id: str, biz: dict) -> dict:
        with self._lock:
            trade = self._find(app_id, biz)
            out_request_no = biz.get("out_request_no") or trade.out_trade_no
            amount = _amount(biz.get("refund_amount"), trade.currency, name="refund_amount")
            previous = trade.refunds.get(out_request_no)
            if previous is not None and Decimal(previous) != amount:
                raise _business("ACQ.INVALID_PARAMETER",
                                "out_request_no was used with another refund_amount")
            fund_change = "N"
            if previous is None:
                if trade.status not in ("TRADE_SUCCESS",):
                    raise _business("ACQ.TRADE_STATUS_ERROR", "the trade is not paid")
                if trade.refunded + amount > Decimal(trade.total_amount):
                    raise _business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                                    "refund_amount exceeds what is left of the trade")
                trade.refunds[out_request_no] = biz["refund_amount"]
                trade.refunded += amount
                fund_change = "Y"
                if trade.refunded == Decimal(trade.total_amount):
                    trade.status = "TRADE_CLOSED"
                    trade.gmt_close = beijing_now()
                self._queue_notify(trade, refund_fee=self._money(trade.refunded, trade),
                                   gmt_refund=beijing_now(), out_biz_no=out_request_no)
            return {"code": "10000", "msg": "Success", "trade_no": trade.trade_no,
                    "out_trade_no": trade.out_trade_no, "buyer_logon_id": "159****5620",
                    "fund_change": fund_change,
                    "refund_fee": self._money(trade.refunded, trade),
                    "gmt_refund_pay": beijing_now(), "buyer_user_id": "2088102177846881"}

    def signed_answer(self, method: str, answer: dict, *, sign: bool = True) -> bytes:
        """``{"<method>_response": answer, "sign": ...}``, the sign over the object's text."""
        key = method.replace(".", "_") + "_response"
        inner = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        text = f'{{"{key}":{inner}'
        if sign:
            text += f',"sign":"{rsa2_sign(self.key, inner)}"'
        return (text + "}").encode("utf-8")

    # Internals ---------------------------------------------------------------------------

    @staticmethod
    def _money(value: Decimal, trade: Trade) -> str:
        places = 0 if trade.currency in ZERO_DECIMAL else 2
        return f"{value:.{places}f}"

    def _by_trade_no(self, trade_no: str) -> Trade:
        for trade in self.trades.values():
            if trade.trade_no == trade_no:
                return trade
        raise KeyError(trade_no)

    def _find(self, app_id: str, biz: dict) -> Trade:
        trade = None
        if biz.get("out_trade_no"):
            trade = self.trades.get((app_id, biz["out_trade_no"]))
        elif biz.get("trade_no"):
            trade = next((t for t in self.trades.values()
                          if t.app_id == app_id and t.trade_no == biz["trade_no"]), None)
        if trade is None:
            raise _business("ACQ.TRADE_NOT_EXIST", "the trade does not exist")
        return trade

    def _queue_notify(self, trade: Trade, **extra: str) -> None:
        params = {
            "notify_time": beijing_now(), "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(18), "app_id": trade.app_id, "charset": "utf-8",
            "version": "1.0", "trade_no": trade.trade_no, "out_trade_no": trade.out_trade_no,
            "buyer_id": "2088102177846881", "buyer_logon_id": "159****5620",
            "seller_id": SELLER_ID, "trade_status": trade.status,
            "total_amount": trade.total_amount, "subject": trade.subject,
            "gmt_create": trade.gmt_create,
        }
        if trade.trans_currency:
            params["trans_currency"] = trade.trans_currency
        if trade.gmt_payment:
            params.update(gmt_payment=trade.gmt_payment, receipt_amount=trade.total_amount,
                          invoice_amount=trade.total_amount,
                          buyer_pay_amount=trade.total_amount, point_amount="0.00",
                          fund_bill_list=json.dumps([{"amount": trade.total_amount,
                                                      "fundChannel": "ALIPAYACCOUNT"}]))
        if trade.gmt_close:
            params["gmt_close"] = trade.gmt_close
        params.update(extra)
        body = urlencode(sign_params(self.key, params)).encode("utf-8")
        self._notifies.append((trade.notify_url, body))


def _cashier_page(trade: Trade) -> str:
    wap = trade.method == "alipay.trade.wap.pay"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Alipay cashier</title></head>
<body data-method="{escape(trade.method)}" data-cashier="{'wap' if wap else 'page'}">
<h1>{escape(trade.subject)}</h1>
<p id="amount">{escape(trade.total_amount)} {escape(trade.currency)}</p>
<p id="status">{escape(trade.status)}</p>
<form method="post" action="/cashier/{escape(trade.trade_no)}">
<button name="action" value="pay">Pay</button>
<button name="action" value="give_up">Leave without paying</button>
</form></body></html>"""


def _handler(peer: AlipayPeer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet in test output
            pass

        def _send(self, status: int, body: bytes, content_type: str,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _params(self) -> dict[str, str] | None:
            split = urlsplit(self.path)
            pairs = parse_qsl(split.query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                pairs += parse_qsl(self.rfile.read(length).decode("utf-8"),
                                   keep_blank_values=True)
            params = dict(pairs)
            return params if len(params) == len(pairs) else None

        def do_GET(self):
            self._gateway()

        def do_POST(self):
            path = urlsplit(self.path).path
            if path.startswith("/cashier/"):
                return self._cashier(path.removeprefix("/cashier/"))
            self._gateway()

        def _gateway(self):
            if urlsplit(self.path).path != "/gateway.do":
                return self._send(404, b"not found", "text/plain")
            params = self._params() or {}
            method = params.get("method", "")
            try:
                method, biz = peer.check_request(params)
                if method in PRODUCT_CODES:
                    trade = peer.open_cashier(params, method, biz)
                    return self._send(200, _cashier_page(trade).encode(),
                                      "text/html; charset=utf-8")
                if method == "alipay.trade.query":
                    answer = peer.query(params["app_id"], biz)
                elif method == "alipay.trade.refund":
                    answer = peer.refund(params["app_id"], biz)
                else:
                    raise _invalid("isv.invalid-method", f"unknown method {method!r}")
            except PeerError as error:
                if method in PRODUCT_CODES:
                    page = f"<p id='error'>{escape(json.dumps(error.answer))}</p>"
                    return self._send(400, page.encode(), "text/html; charset=utf-8")
                # Alipay signs business errors (40004); a refused request is unsigned.
                signed = error.answer["code"] == "40004"
                return self._send(200, peer.signed_answer(method or "error", error.answer,
                                                          sign=signed),
                                  "application/json; charset=utf-8")
            self._send(200, peer.signed_answer(method, answer), "application/json; charset=utf-8")

        def _cashier(self, trade_no: str):
            action = (self._params() or {}).get("action")
            try:
                if action == "pay":
                    location = peer.pay(trade_no)
                    if location:
                        return self._send(302, b"", "text/plain", {"Location": location})
                    return self._send(200, b"paid", "text/plain")
                if action == "give_up":
                    peer.give_up(trade_no)
                    return self._send(200, b"trade closed", "text/plain")
            except KeyError:
                return self._send(404, b"no such trade", "text/plain")
            return self._send(400, b"choose pay or give_up", "text/plain")

    return Handler


# --- The customer's browser at the peer --------------------------------------------------


class _NoRedirects(HTTPErrorProcessor):
    def http_response(self, request, response):
        return response

    https_response = http_response


_browser = build_opener(_NoRedirects)


@dataclass
class Visit:
    status: int
    body: str
    location: str = ""


def browse(url: str, *, data: dict[str, str] | None = None) -> Visit:
    """One request as a browser sends it (no redirect followed), over real HTTP."""
    assert url.startswith("http://127.0.0.1:"), f"the test browser only visits the peer: {url}"
    body = urlencode(data).encode() if data is not None else None
    with _browser.open(Request(url, data=body), timeout=10) as response:  # noqa: S310
        return Visit(status=response.status, body=response.read().decode("utf-8"),
                     location=response.headers.get("Location", ""))


def cashier_action(page: str) -> str:
    match = re.search(r'action="(/cashier/[0-9]+)"', page)
    assert match, f"not a cashier page: {page[:300]}"
    return match.group(1)


_shared: AlipayPeer | None = None
_shared_lock = threading.Lock()


def shared_peer() -> AlipayPeer:
    """One peer per test process, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = AlipayPeer()
        return _shared


# --- simdesk pointed at the peer -------------------------------------------------------------

#: The app simdesk is at the peer (an Alipay app id is 16 digits).
APP_ID = "2021000149600001"
_app_key: rsa.RSAPrivateKey | None = None


def app_key() -> rsa.RSAPrivateKey:
    """The app's key pair, made once per test process (simdesk signs with its private half)."""
    global _app_key
    with _shared_lock:
        if _app_key is None:
            _app_key = new_key()
        return _app_key


def settings_for(peer: AlipayPeer) -> dict[str, object]:
    """The settings that point simdesk's Alipay gateway at ``peer`` (the app registered there)."""
    peer.register_app(APP_ID, public_pem(app_key()))
    return {
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_APP_PRIVATE_KEY": private_pem(app_key()),
        "ALIPAY_APP_PRIVATE_KEY_FILE": "",
        "ALIPAY_PUBLIC_KEY": peer.public_key_pem,
        "ALIPAY_PUBLIC_KEY_FILE": "",
        "ALIPAY_SANDBOX": True,
        "ALIPAY_API_BASE": peer.base_url,
    }


def site_path(url: str) -> str:
    """The path and query of one of simdesk's own absolute addresses (for the test client)."""
    split = urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


@dataclass
class Checkout:
    """What the customer's browser went through for one payment."""

    cashier_url: str = ""  # the signed Alipay address simdesk redirected to
    cashier: Visit | None = None  # Alipay's cashier page
    back_to_simdesk: str = ""  # where Alipay sent the browser after paying (signed)
    final: object = None  # simdesk's answer to the return (a Django test response)


def customer_at_alipay(client, start: str, *, outcome: str, device: str = "",
                       user_agent: str = "", come_back: bool = True) -> Checkout:
    """The customer follows simdesk's pay address to the peer's cashier and pays or gives up.

    ``client`` must be logged in as the payment's customer. ``come_back``: after
    paying, the browser follows Alipay's redirect back to simdesk's return page.
    """
    path = start + (f"?device={device}" if device else "")
    response = client.get(path, headers={"User-Agent": user_agent} if user_agent else {})
    assert response.status_code == 302, response.content.decode()[:500]
    seen = Checkout(cashier_url=response["Location"])
    seen.cashier = browse(seen.cashier_url)
    assert seen.cashier.status == 200, seen.cashier.body[:500]
    base = f"{urlsplit(seen.cashier_url).scheme}://{urlsplit(seen.cashier_url).netloc}"
    action = "pay" if outcome == "succeeded" else "give_up"
    after = browse(base + cashier_action(seen.cashier.body), data={"action": action})
    if outcome == "succeeded":
        assert after.status == 302, after.body[:500]
        seen.back_to_simdesk = after.location
        if come_back:
            seen.final = client.get(site_path(after.location))
    else:
        assert after.status == 200, after.body[:500]
    return seen


def deliver(client, notifies: list[tuple[str, bytes]]) -> list:
    """POST each notify to its notify_url (one of simdesk's addresses) through ``client``."""
    return [client.post(site_path(url), data=body,
                        content_type="application/x-www-form-urlencoded")
            for url, body in notifies]
