"""Outgoing webhooks: what emitting costs on a hot path, and how fast deliveries go out.

Run from the project root:
    .venv/bin/python bench/webhooks.py [--events 5000]

Embedded settings (SQLite in a temporary directory, the database cache), DEBUG off.

1. No endpoint registered (the usual installation): ``event_emit`` per call, against a
   bare ``cache.get`` of one key as the baseline — the emit should cost about that much,
   since it only asks the cached subscriptions and writes nothing.
2. One subscribed endpoint: ``event_emit`` per call, each in its own transaction (an
   event and a delivery row written), against a bare insert of one row as the baseline.
3. Delivery: every recorded delivery sent with ``delivery_send`` to a local HTTP
   receiver (``http.server`` on 127.0.0.1) that checks each signature; none may fail.

Ends with one line:
RESULT idle_emit_per_s=… cache_get_per_s=… emit_per_s=… insert_per_s=… sent_per_s=… bad_signatures=0
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def configure(data_dir: str) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "TASK_BACKEND"):
        os.environ.pop(name, None)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.dev",
                       "SIMDESK_DATA_DIR": data_dir, "DEBUG": "false",
                       "SECRET_KEY": "bench-only-not-secret"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rate(count: int, seconds: float) -> int:
    return round(count / seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="simdesk-bench-webhooks-") as data_dir:
        configure(data_dir)
        run(args.events)


def run(events: int) -> None:
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import transaction

    from simdesk.core.clock import utcnow
    from simdesk.core.models import ClockSlot
    from simdesk.integrations.models import EventType, WebhookDelivery, WebhookEndpoint
    from simdesk.integrations.services import delivery_send, event_emit
    from simdesk.integrations.signing import SignatureError, verify_signature

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    now = utcnow()
    cache.set("bench:key", [1], 600)

    started = time.perf_counter()
    for _ in range(events):
        cache.get("bench:key")
    cache_get_s = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(events):
        assert event_emit(type=EventType.PERIOD_EXHAUSTED, data={"period": str(i)},
                          dedupe_key=f"idle:{i}", now=now) is None
    idle_s = time.perf_counter() - started

    bad = []
    secret = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                verify_signature(secret=secret["value"], body=body,
                                 header=self.headers.get("Simdesk-Signature"))
            except SignatureError:
                bad.append(body)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = WebhookEndpoint.objects.create(
        url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    secret["value"] = endpoint.secret

    started = time.perf_counter()
    for i in range(events):
        with transaction.atomic():
            ClockSlot.objects.create(name=f"bench-baseline-{i}")
    insert_s = time.perf_counter() - started

    started = time.perf_counter()
    for i in range(events):
        with transaction.atomic():
            event_emit(type=EventType.PERIOD_EXHAUSTED, data={"period": str(i)},
                       dedupe_key=f"busy:{i}", now=now)
    emit_s = time.perf_counter() - started

    ids = list(WebhookDelivery.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    sent = sum(delivery_send(delivery_id=pk, now=utcnow()) for pk in ids)
    send_s = time.perf_counter() - started
    server.shutdown()

    print(f"{events} events; idle emit {idle_s:.3f}s vs cache.get {cache_get_s:.3f}s; "
          f"emit {emit_s:.3f}s vs insert {insert_s:.3f}s; {sent}/{len(ids)} sent in "
          f"{send_s:.3f}s")
    print(f"RESULT idle_emit_per_s={rate(events, idle_s)} cache_get_per_s="
          f"{rate(events, cache_get_s)} emit_per_s={rate(events, emit_s)} "
          f"insert_per_s={rate(events, insert_s)} sent_per_s={rate(sent, send_s)} "
          f"failed={len(ids) - sent} bad_signatures={len(bad)}")


if __name__ == "__main__":
    main()
