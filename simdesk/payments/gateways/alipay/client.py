"""The only module that talks to Alipay, through python-alipay-sdk.

Every request is signed RSA2 (SHA256withRSA over the sorted ``key=value`` pairs)
with the app's private key; every answer, notify and return is verified with
Alipay's public key. Keys come from settings, as PEM text or the files named by
the ``*_FILE`` settings (Alipay's key tool also hands out bare base64 keys: those
are read too).

``ALIPAY_API_BASE`` replaces Alipay's gateway address (a test peer);
``ALIPAY_SANDBOX`` picks Alipay's sandbox gateway instead of the live one.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig
from Cryptodome.PublicKey import RSA
from django.conf import settings

from ..base import GatewayError

logger = logging.getLogger(__name__)

#: Alipay reads request timestamps, and writes its own, in Beijing time (GMT+8).
BEIJING = ZoneInfo("Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
LIVE_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
#: Seconds to wait for Alipay's answer to a query or refund.
TIMEOUT = 15
SUCCESS_CODE = "10000"


class AlipayCallFailed(GatewayError):
    """Alipay answered a signed business error (``code`` other than 10000)."""

    def __init__(self, *, method: str, answer: dict[str, Any]):
        self.answer = answer
        self.sub_code = str(answer.get("sub_code") or "")
        super().__init__(detail=f"{method}: {answer.get('code')} {self.sub_code} "
                                f"{answer.get('sub_msg') or answer.get('msg') or ''}".strip())


@dataclass(frozen=True)
class Credentials:
    app_id: str
    private_key_pem: str
    alipay_public_key_pem: str


def _setting_text(name: str) -> str:
    """The setting ``name`` as text, or the content of the file ``<name>_FILE`` names."""
    text = getattr(settings, name, "") or ""
    if text.strip():
        return text
    path = getattr(settings, f"{name}_FILE", "") or ""
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        logger.warning("alipay: cannot read %s_FILE (%s): %s", name, path, error)
        return ""


@lru_cache(maxsize=8)
def _load_key(text: str, *, private: bool) -> str:
    """The key as PEM text; ValueError if it is not an RSA key of the wanted kind."""
    text = text.strip()
    if "-----BEGIN" in text:
        key = RSA.import_key(text)
    else:
        # Alipay's key tool writes bare base64 (PKCS#8 / X.509 DER) without PEM armour.
        try:
            der = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError(f"not PEM and not base64: {error}") from None
        key = RSA.import_key(der)
    if private and not key.has_private():
        raise ValueError("a public key where the app's private key belongs")
    if not private:
        key = key.public_key()
    return key.export_key("PEM").decode("ascii")


def credentials() -> Credentials | None:
    """The app id and both keys from settings, or None if one is missing or unreadable."""
    app_id = (getattr(settings, "ALIPAY_APP_ID", "") or "").strip()
    private_text = _setting_text("ALIPAY_APP_PRIVATE_KEY")
    public_text = _setting_text("ALIPAY_PUBLIC_KEY")
    if not (app_id and private_text and public_text):
        return None
    try:
        return Credentials(app_id=app_id,
                           private_key_pem=_load_key(private_text, private=True),
                           alipay_public_key_pem=_load_key(public_text, private=False))
    except (ValueError, IndexError, TypeError) as error:
        logger.warning("alipay: the configured keys cannot be loaded: %s", error)
        return None


def gateway_address() -> str:
    base = (getattr(settings, "ALIPAY_API_BASE", "") or "").strip()
    if base:
        # Either the full ".../gateway.do" or a bare base address of a peer.
        return base if base.endswith(".do") else base.rstrip("/") + "/gateway.do"
    return SANDBOX_GATEWAY if getattr(settings, "ALIPAY_SANDBOX", False) else LIVE_GATEWAY


class _SDK(AliPay):
    """The SDK's client with two fixes: Beijing-time timestamps, and our gateway address."""

    def __init__(self, *, gateway: str, **kwargs):
        super().__init__(**kwargs)
        # The SDK only knows Alipay's two addresses; this attribute is where it sends requests.
        self._gateway = gateway

    def build_body(self, method, biz_content=None, **kwargs):
        data = super().build_body(method, biz_content, **kwargs)
        # The SDK stamps the server's local time; Alipay reads the stamp as GMT+8, so a
        # server on UTC would send requests that look eight hours old.
        data["timestamp"] = datetime.now(BEIJING).strftime(TIMESTAMP_FORMAT)
        return data


@lru_cache(maxsize=8)
def _sdk(creds: Credentials, gateway: str) -> _SDK:
    return _SDK(gateway=gateway, appid=creds.app_id,
                app_private_key_string=creds.private_key_pem,
                alipay_public_key_string=creds.alipay_public_key_pem, sign_type="RSA2",
                config=AliPayConfig(timeout=TIMEOUT))


class AlipayClient:
    """Signed requests to Alipay and verification of what Alipay signs."""

    def __init__(self, creds: Credentials, gateway: str):
        self.app_id = creds.app_id
        self.gateway = gateway
        self._sdk = _sdk(creds, gateway)

    @classmethod
    def from_settings(cls) -> AlipayClient:
        creds = credentials()
        if creds is None:
            raise GatewayError(detail="Alipay is not configured (ALIPAY_APP_ID and keys)")
        return cls(creds, gateway_address())

    # --- The customer's browser goes to Alipay ------------------------------------------

    def pay_url(self, *, phone: bool, subject: str, out_trade_no: str, total_amount: str,
                return_url: str, notify_url: str, **biz: Any) -> str:
        """A signed address of Alipay's cashier: page pay (desktop) or WAP pay (phone)."""
        if phone:
            # Alipay's product code for WAP pay is QUICK_WAP_WAY (the SDK's default,
            # QUICK_WAP_PAY, is not one Alipay documents).
            query = self._sdk.api_alipay_trade_wap_pay(
                subject=subject, out_trade_no=out_trade_no, total_amount=total_amount,
                return_url=return_url, notify_url=notify_url, product_code="QUICK_WAP_WAY",
                **biz)
        else:
            query = self._sdk.api_alipay_trade_page_pay(
                subject=subject, out_trade_no=out_trade_no, total_amount=total_amount,
                return_url=return_url, notify_url=notify_url, **biz)
        return f"{self.gateway}?{query}"

    # --- Server-to-server calls ---------------------------------------------------------

    def _call(self, method: str, call) -> dict[str, Any]:
        try:
            answer = call()
        except AliPayValidationError:
            raise GatewayError(detail=f"{method}: the answer's signature did not verify "
                                      "with Alipay's public key") from None
        except AliPayException as error:
            # An unsigned error answer (e.g. our signature or app id was refused).
            raise GatewayError(detail=f"{method}: {error}") from None
        except (OSError, ValueError, AttributeError, TypeError) as error:
            # OSError covers URLError, timeouts and refused connections; ValueError an
            # answer that is not JSON; the others an answer of an unexpected shape.
            raise GatewayError(detail=f"{method}: {type(error).__name__}: {error}") from None
        if not isinstance(answer, dict):
            raise GatewayError(detail=f"{method}: answer is not an object")
        if answer.get("code") != SUCCESS_CODE:
            raise AlipayCallFailed(method=method, answer=answer)
        return answer

    def trade_query(self, *, out_trade_no: str) -> dict[str, Any]:
        """alipay.trade.query; AlipayCallFailed (e.g. ACQ.TRADE_NOT_EXIST) for a business error."""
        return self._call("alipay.trade.query",
                          lambda: self._sdk.api_alipay_trade_query(out_trade_no=out_trade_no))

    def trade_refund(self, *, out_trade_no: str, refund_amount: str, out_request_no: str,
                     **biz: Any) -> dict[str, Any]:
        """alipay.trade.refund; the same ``out_request_no`` is the same refund at Alipay."""
        return self._call("alipay.trade.refund", lambda: self._sdk.api_alipay_trade_refund(
            refund_amount=refund_amount, out_trade_no=out_trade_no,
            out_request_no=out_request_no, **biz))

    # --- What Alipay sends us -----------------------------------------------------------

    def verify(self, params: dict[str, str]) -> bool:
        """Whether ``params`` (a notify or a return, with ``sign``) was signed by Alipay.

        Alipay signs every parameter but ``sign`` and ``sign_type``, sorted by name,
        as ``k=v`` joined with ``&`` (values URL-decoded).
        """
        data = dict(params)
        signature = data.pop("sign", "")
        if not signature or data.get("sign_type", "RSA2") != "RSA2":
            return False
        data.pop("sign_type", None)
        try:
            return self._sdk.verify(data, signature)
        except (ValueError, TypeError, binascii.Error, AliPayException):
            return False
