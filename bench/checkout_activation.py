"""Webhook → period active: how long a payment confirmation takes to switch a plan on.

Run from the project root:  .venv/bin/python bench/checkout_activation.py [--orders 1000]

The embedded setup, built from scratch in a temporary directory: SQLite (WAL), the
database task backend, the sandbox gateway, DEBUG off. For each order the customer
paid on the sandbox's page; the sandbox's signed webhook (the exact bytes it would
send) is then POSTed to /webhooks/sandbox/ through the WSGI application. The clock
runs from the moment the request enters the WSGI app until the response is back;
the order is then checked to be fulfilled with its period active (the webhook view
processes the event before it answers, so "answered" means "active").

Baseline, in the same run and through the same WSGI app: GET /healthz (Django's
whole request path, no work), and a bare signature check + parse of the same body.
Finally every webhook is delivered a second time and the periods are counted:
a duplicate would show as ``duplicates`` > 0.

Prints p50/p95/p99 and ends with one line:
RESULT p50_ms=… p95_ms=… p99_ms=… baseline_p50_ms=… parse_p50_ms=… orders=… duplicates=0
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def configure(data_dir: str) -> None:
    """The embedded settings, pointed at a fresh data directory (never the user's)."""
    for name in ("DATABASE_URL", "REDIS_URL", "TASK_BACKEND", "SANDBOX_WEBHOOK_TRANSPORT"):
        os.environ.pop(name, None)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "SIMDESK_DATA_DIR": data_dir,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-not-secret",
        "SITE_URL": "http://127.0.0.1:8000",
        # The bench delivers the sandbox's webhooks itself, so it can time them.
        "SANDBOX_WEBHOOK_DELIVER_AT_ONCE": "false",
        "SANDBOX_DUPLICATE_DELIVERY": "0",
    })
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def wsgi_call(app, *, method: str, path: str, body: bytes = b"",
              headers: dict[str, str] | None = None) -> int:
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http", "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    status: list[str] = []
    chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
    try:
        b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return int(status[0].split()[0])


def prepare_orders(count: int) -> list[tuple[int, bytes]]:
    """``count`` orders paid on the sandbox page whose webhooks have not been delivered;
    returns (order id, webhook body) pairs."""
    from django.core.management import call_command

    from simdesk.accounts.models import User
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow
    from simdesk.orders.models import Order
    from simdesk.orders.services import order_create, order_pay
    from simdesk.payments.gateways.sandbox.cards import test_card_find
    from simdesk.payments.gateways.sandbox.models import SandboxCharge, SandboxWebhookDelivery
    from simdesk.payments.gateways.sandbox.services import sandbox_charge_pay

    call_command("migrate", verbosity=0)
    now = utcnow()
    plan = plan_upsert(
        code="bench-5gb", now=now, prices={"USD": 1200}, countries=("FR",),
        translations={"en": ("Bench 5 GB", "")},
        terms={"kind": PlanKind.BASE, "data_bytes": 5 * 10**9, "validity_days": 30,
               "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
               "region": None},
    )
    customers = [User.objects.create_user(email=f"bench{i}@example.com", password=None)
                 for i in range(20)]
    good_card = test_card_find("4242424242424242")
    pairs = []
    for i in range(count):
        customer = customers[i % len(customers)]
        card = Card.objects.create(iccid=iccid_with_check_digit(f"894499{i:012d}"),
                                   owner=customer, claimed_at=now)
        order = order_create(customer=customer, card=card, plan=plan, currency="USD",
                             idempotency_key=f"bench-{i}", now=now)
        url = order_pay(order=order, gateway="sandbox",
                        return_url=f"http://127.0.0.1:8000/orders/{order.public_id}/", now=now)
        charge = SandboxCharge.objects.get(public_id=url.rstrip("/").split("/")[-1])
        sandbox_charge_pay(charge=charge, card=good_card, now=now)
        order = Order.objects.select_related("payment").get(pk=order.pk)
        delivery = SandboxWebhookDelivery.objects.filter(
            body__contains=order.payment.gateway_payment_id).get()
        pairs.append((order.pk, delivery.body.encode()))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="simdesk-bench-") as data_dir:
        configure(data_dir)
        import logging

        logging.disable(logging.WARNING)
        from django.core.wsgi import get_wsgi_application
        from django.db import connection

        from simdesk.cards.models import Period, PeriodState
        from simdesk.core.clock import utcnow
        from simdesk.orders.models import Order, OrderStatus
        from simdesk.payments.gateways import get_gateway
        from simdesk.payments.gateways.sandbox.signing import SIGNATURE_HEADER, sign

        app = get_wsgi_application()
        started = time.perf_counter()
        pairs = prepare_orders(args.orders + args.warmup)
        # In the embedded setup the worker and the clock hold connections to the same
        # SQLite file. Without one, each request's close would be the last connection
        # and SQLite would checkpoint and delete the WAL every time — a cost
        # `simdesk run` never pays. This stands in for them.
        import sqlite3

        resident = sqlite3.connect(connection.settings_dict["NAME"])
        resident.execute("SELECT count(*) FROM sqlite_master").fetchall()
        print(f"prepared {len(pairs)} paid orders in {time.perf_counter() - started:.1f} s "
              f"({connection.vendor}, {os.environ['DJANGO_SETTINGS_MODULE']})")

        def deliver(body: bytes) -> tuple[int, float]:
            headers = {SIGNATURE_HEADER: sign(body=body, timestamp=int(time.time()))}
            t0 = time.perf_counter()
            status = wsgi_call(app, method="POST", path="/webhooks/sandbox/", body=body,
                               headers=headers)
            return status, (time.perf_counter() - t0) * 1000

        warm, measured = pairs[:args.warmup], pairs[args.warmup:]
        for _order_id, body in warm:
            deliver(body)

        latencies, baseline = [], []
        not_active = 0
        for order_id, body in measured:
            status, ms = deliver(body)
            if status != 200:
                raise SystemExit(f"webhook answered {status} for order {order_id}")
            latencies.append(ms)
            # Checked after the clock stopped: the order is fulfilled, its period active.
            order = Order.objects.select_related("period").get(pk=order_id)
            if order.status != OrderStatus.FULFILLED or order.period.state != PeriodState.ACTIVE:
                not_active += 1
            t0 = time.perf_counter()
            wsgi_call(app, method="GET", path="/healthz")
            baseline.append((time.perf_counter() - t0) * 1000)

        gateway = get_gateway("sandbox")
        parse = []
        for _order_id, body in measured:
            headers = {SIGNATURE_HEADER: sign(body=body, timestamp=int(time.time()))}
            t0 = time.perf_counter()
            gateway.parse_webhook(headers=headers, body=body, now=utcnow())
            parse.append((time.perf_counter() - t0) * 1000)

        # Every webhook once more: a gateway retrying must not make a second period.
        for _order_id, body in pairs:
            deliver(body)
        fulfilled = Order.objects.filter(status=OrderStatus.FULFILLED).count()
        duplicates = Period.objects.count() - fulfilled
        resident.close()
        connection.close()

    p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
    b50 = statistics.median(baseline)
    parse50 = statistics.median(parse)
    print(f"webhook → period active over {len(latencies)} orders: p50 {p50:.2f} ms, "
          f"p95 {p95:.2f} ms, p99 {p99:.2f} ms, max {max(latencies):.2f} ms")
    print(f"baseline GET /healthz through the same WSGI app: p50 {b50:.2f} ms, "
          f"p99 {percentile(baseline, 99):.2f} ms; signature check + parse alone: "
          f"p50 {parse50:.3f} ms")
    print(f"orders not active after their webhook: {not_active}; goal p99 < 100 ms: "
          f"{'met' if p99 < 100 else 'NOT met'}")
    print(f"RESULT p50_ms={p50:.2f} p95_ms={p95:.2f} p99_ms={p99:.2f} baseline_p50_ms={b50:.2f} "
          f"parse_p50_ms={parse50:.3f} orders={len(latencies)} not_active={not_active} "
          f"duplicates={duplicates}")
    return 0 if not_active == 0 and duplicates == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
