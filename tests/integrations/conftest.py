"""A real HTTP receiver on 127.0.0.1 that checks each webhook's signature the documented
way, and endpoints pointing at it."""

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from simdesk.integrations.models import WebhookEndpoint
from simdesk.integrations.signing import SignatureError, verify_signature


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    signature_error: str = ""

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers every POST with ``status`` (one per request from ``statuses`` first)."""

    url: str
    secret: str = ""
    status: int = 200
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    tolerance_now: float | None = None  # the receiver's clock for the check; None: real time


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                verify_signature(secret=state.secret, body=body,
                                 header=self.headers.get("Simdesk-Signature"),
                                 now=state.tolerance_now)
                ok, error = True, ""
            except SignatureError as failure:
                ok, error = False, str(failure)
            state.requests.append(Received(dict(self.headers.items()), body, ok, error))
            status = state.statuses.pop(0) if state.statuses else state.status
            answer = json.dumps({"received": ok}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/simdesk"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    """An address where nothing listens: the connection is refused. The port stays bound
    (without listening) for the test, so no other program can take it meanwhile."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hooks"


@pytest.fixture
def make_endpoint(db, receiver):
    def make(*, url=None, event_types=(), active=True, description=""):
        endpoint = WebhookEndpoint.objects.create(url=url or receiver.url,
                                                  event_types=list(event_types), active=active,
                                                  description=description)
        if url is None:
            receiver.secret = endpoint.secret
        return endpoint

    return make


@pytest.fixture
def endpoint(make_endpoint):
    """One active endpoint at the receiver, subscribed to every type."""
    return make_endpoint()
