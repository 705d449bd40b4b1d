"""The one endpoint every payment gateway sends its webhooks to: ``/webhooks/<gateway>/``.

Verify → store → process → answer (payments.services.webhook_receive). A webhook
that fails verification or cannot be read gets 400 with a problem+json body and
nothing is stored; a stored event is answered 200 even if processing it failed
(simdesk retries it itself), so the gateway does not resend what we already hold.
The 200's body is simdesk's JSON receipt, or what the gateway's ``webhook_ack``
says its vendor expects.
"""

import json
import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from simdesk.core.clock import utcnow
from simdesk.core.errors import NotFound
from simdesk.payments.gateways import get_gateway
from simdesk.payments.gateways.base import GatewayError, WebhookRejected
from simdesk.payments.services import webhook_receive

logger = logging.getLogger(__name__)

#: Vendor webhooks are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 256 * 1024


def problem(status: int, title: str, detail: str, code: str) -> HttpResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "code": code}
    return HttpResponse(json.dumps(body), status=status,
                        content_type="application/problem+json")


@csrf_exempt  # gateways cannot send our CSRF token; the signature authenticates them
def inbound_webhook(request, gateway: str) -> HttpResponse:
    if request.method != "POST":
        response = problem(405, "Method not allowed", "Webhooks are delivered with POST.",
                           "method_not_allowed")
        response["Allow"] = "POST"
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    body = b"" if declared > MAX_BODY_BYTES else request.read(MAX_BODY_BYTES + 1)
    if declared > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        return problem(413, "Payload too large",
                       f"A webhook body may be at most {MAX_BODY_BYTES} bytes.", "too_large")
    try:
        event, created = webhook_receive(gateway=gateway, headers=request.headers, body=body,
                                         now=utcnow())
    except NotFound:
        return problem(404, "Unknown gateway", f"No enabled payment gateway is called "
                       f"{gateway[:40]!r}.", "unknown_gateway")
    except WebhookRejected as rejected:
        logger.warning("webhooks: rejected a %s webhook: %s", gateway[:40], rejected.detail)
        return problem(400, "Webhook rejected", rejected.detail, rejected.code)
    except GatewayError as error:
        # Reading the event needed the vendor (e.g. to name a saved card) and it did not
        # answer: nothing was stored, and the vendor sends the event again on a 5xx.
        logger.warning("webhooks: %s could not be asked about a webhook: %s", gateway[:40],
                       error.detail)
        response = problem(503, "Gateway unreachable", "The payment gateway could not be "
                           "asked about this event; nothing was stored. Send it again later.",
                           "gateway_unreachable")
        response["Retry-After"] = "60"
        return response
    # Some vendors want their own words back (Alipay retries until it reads "success").
    ack = get_gateway(gateway).webhook_ack(created=created)
    if ack is not None:
        body, content_type = ack
        return HttpResponse(body, content_type=content_type)
    return JsonResponse({"received": True, "duplicate": not created, "event": event.event_id,
                         "status": event.status})
