"""PayPal's REST API through ``paypal-server-sdk``: one client per set of keys, errors in
simdesk's words, and the one call the SDK lacks (verify-webhook-signature).

The SDK knows two addresses (live and sandbox) and has no base-URL option;
``PAYPAL_API_BASE`` replaces its table with one address (a local test peer).
Answers are read as the JSON PayPal documents (``response.text``), not through
the SDK's generated models, so a field the SDK does not model is not lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import lru_cache
from typing import Any

import requests
from apimatic_core.authentication.multiple.single_auth import Single
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from apimatic_core.request_builder import RequestBuilder
from apimatic_core.response_handler import ResponseHandler
from apimatic_core.types.parameter import Parameter
from django.conf import settings
from paypalserversdk.api_helper import APIHelper
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.controllers.base_controller import BaseController
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.http.http_method_enum import HttpMethodEnum
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from ..base import GatewayError

logger = logging.getLogger(__name__)

#: Seconds to wait for PayPal before the outcome counts as unknown.
TIMEOUT = 30


class PaypalApiError(GatewayError):
    """PayPal answered with an error document (``name``, ``details[].issue``, ``links``)."""

    def __init__(self, *, status: int, body: dict[str, Any]):
        self.status_code = status
        self.body = body if isinstance(body, dict) else {}
        self.name = str(self.body.get("name") or "")
        details = self.body.get("details") or []
        self.issues = [str(d.get("issue") or "") for d in details if isinstance(d, dict)]
        super().__init__(detail=f"PayPal {status} {self.name} {','.join(self.issues)} "
                                f"debug_id={self.body.get('debug_id', '')}")

    def has_issue(self, *issues: str) -> bool:
        return any(issue in self.issues for issue in issues)

    def link(self, rel: str) -> str:
        for link in self.body.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == rel:
                return str(link.get("href") or "")
        return ""


class _Configuration(Configuration):
    """The SDK's configuration, with ``api_base`` (when set) in place of its environment table."""

    def __init__(self, *, api_base: str = "", **kwargs):
        self._api_base = api_base.rstrip("/")
        super().__init__(**kwargs)

    def get_base_uri(self, server=Server.DEFAULT):
        return self._api_base or super().get_base_uri(server)


@lru_cache(maxsize=8)
def _client(client_id: str, client_secret: str, live: bool, api_base: str
            ) -> PaypalServersdkClient:
    config = _Configuration(
        api_base=api_base, timeout=TIMEOUT,
        environment=Environment.PRODUCTION if live else Environment.SANDBOX,
        client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
            o_auth_client_id=client_id, o_auth_client_secret=client_secret),
    )
    return PaypalServersdkClient(config=config)


def paypal_client() -> PaypalServersdkClient:
    """The SDK client for this installation's keys (kept, so its access token is reused)."""
    return _client(settings.PAYPAL_CLIENT_ID, settings.PAYPAL_CLIENT_SECRET,
                   settings.PAYPAL_ENVIRONMENT == "live", settings.PAYPAL_API_BASE or "")


def request_id(purpose: str, key: str) -> str:
    """The ``PayPal-Request-Id`` for one purpose ("create", "capture", "refund") of one of
    simdesk's idempotency keys: stable, so a retry is recognised, and short enough for
    PayPal's 108-character limit whatever the key."""
    return f"simdesk-{purpose}-{hashlib.sha256(key.encode()).hexdigest()[:48]}"


def call(operation, **options) -> dict[str, Any]:
    """Run one SDK operation; PayPal's JSON answer, or GatewayError (PaypalApiError for an
    error document PayPal sent back)."""
    try:
        response = operation(options)
    except AuthValidationException as error:
        # The SDK swallows the token endpoint's 401 and then refuses to send the request.
        raise GatewayError(detail=f"PayPal gave no access token (client id or secret "
                                  f"wrong?): {error}") from None
    except ApiException as error:
        try:
            body = json.loads(error.response.text or "{}")
        except ValueError:
            body = {}
        raise PaypalApiError(status=error.response_code, body=body) from None
    except (requests.RequestException, OSError) as error:
        raise GatewayError(detail=f"PayPal did not answer: {error}") from None
    try:
        body = json.loads(response.text or "{}")
    except ValueError:
        raise GatewayError(detail="PayPal answered with something that is not JSON") from None
    if not isinstance(body, dict):
        raise GatewayError(detail="PayPal answered with JSON that is not an object")
    return body


def verify_webhook_signature(*, fields: dict[str, str], event_json: str) -> dict[str, Any]:
    """POST /v1/notifications/verify-webhook-signature (the SDK has no operation for it).

    ``event_json`` is the webhook's body exactly as received, sent as ``webhook_event``
    byte for byte: PayPal checks its signature over those bytes' CRC32.
    """
    envelope = json.dumps(fields, separators=(",", ":"))
    payload = f'{envelope[:-1]},"webhook_event":{event_json}}}'
    controller = BaseController(paypal_client().global_configuration)

    def operation(_options):
        return controller.new_api_call_builder.request(
            RequestBuilder().server(Server.DEFAULT)
            .path("/v1/notifications/verify-webhook-signature")
            .http_method(HttpMethodEnum.POST)
            .header_param(Parameter().key("Content-Type").value("application/json"))
            .header_param(Parameter().key("accept").value("application/json"))
            .body_param(Parameter().value(payload))
            .body_serializer(APIHelper.json_serialize)
            .auth(Single("Oauth2")),
        ).response(
            ResponseHandler()
            .deserializer(APIHelper.json_deserialize)
            .is_api_response(True)
            .local_error("default", "The error response.", ErrorException),
        ).execute()

    return call(operation)
