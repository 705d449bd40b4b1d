import json
import time
import uuid

import pytest


@pytest.fixture
def start(alice, now):
    """Start a sandbox payment of 9.99 USD for alice; returns (payment, pay page path)."""
    from simdesk.payments.services import payment_start

    def start_payment(key="order-1", *, customer=None, amount_minor=999, currency="USD",
                      save_method=False, return_url="/orders/1/"):
        return payment_start(customer=customer or alice, gateway="sandbox",
                             amount_minor=amount_minor, currency=currency,
                             reference=f"order:{key}", idempotency_key=key,
                             return_url=return_url, save_method=save_method, now=now)

    return start_payment


@pytest.fixture
def received():
    """Every payment signal sent during the test, as (signal name, payment id)."""
    from simdesk.payments import signals

    seen = []
    names = ["payment_succeeded", "payment_failed", "payment_requires_action",
             "payment_refunded"]
    receivers = {}
    for name in names:
        def receiver(sender, *, payment, _name=name, **kwargs):
            seen.append((_name, payment.pk))
        receivers[name] = receiver
        getattr(signals, name).connect(receiver, dispatch_uid=f"test-{name}")
    yield seen
    for name in names:
        getattr(signals, name).disconnect(dispatch_uid=f"test-{name}")


def sandbox_event(payment, *, type="charge.succeeded", event_id=None, failure_code="",
                  method=None) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "type": type,
        "created": int(time.time()),
        "data": {"charge": payment.gateway_payment_id, "status": type.split(".", 1)[1],
                 "amount_minor": payment.amount_minor, "currency": payment.currency,
                 "failure_code": failure_code, "failure_message": "",
                 "payment_method": method},
    }


def signed_post(client, body: bytes, *, timestamp: int | None = None, secret: bytes | None = None,
                gateway: str = "sandbox", header: str | None = None):
    """POST ``body`` to the webhook endpoint signed the way the sandbox signs."""
    from simdesk.payments.gateways.sandbox.signing import sign

    ts = int(time.time()) if timestamp is None else timestamp
    signature = header if header is not None else sign(body=body, timestamp=ts, secret=secret)
    return client.post(f"/webhooks/{gateway}/", data=body, content_type="application/json",
                       headers={"Sandbox-Signature": signature})


@pytest.fixture
def post_event(client):
    def post(payload: dict, **kwargs):
        return signed_post(client, json.dumps(payload).encode(), **kwargs)

    return post
