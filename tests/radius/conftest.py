"""A real RADIUS server on ephemeral ports in a thread, driven by Debian's radclient."""

import itertools
import shutil
import subprocess
import threading
from dataclasses import dataclass

import pytest

from simdesk.cards.services import period_create
from simdesk.core.clock import utcnow
from simdesk.radius.models import NasClient
from simdesk.radius.server import RadiusServer
from tests.cards import conftest as cards_fixtures

GB = cards_fixtures.GB
MB = cards_fixtures.MB
make_card = cards_fixtures.make_card
make_plan = cards_fixtures.make_plan

RADCLIENT = shutil.which("radclient")
needs_radclient = pytest.mark.skipif(
    RADCLIENT is None, reason="needs radclient (Debian: apt-get install freeradius-utils)")

SECRET = "simdesk-test-nas-secret"
_imsi = itertools.count(1)


@pytest.fixture
def nas(transactional_db):
    """The test's NAS: packets from 127.0.0.1 signed with SECRET."""
    return NasClient.objects.create(name="pgw-test", address="127.0.0.1", secret=SECRET)


@pytest.fixture
def radius_server(nas):
    """`simdesk radius` serving accounting and authorization on free ports."""
    from django.urls import reverse

    # Usage that crosses an alert threshold runs the alert check (tests: at once, before
    # the answer goes out), whose links import every URL module the first time: seconds
    # on a busy machine, longer than radclient waits. Import them now.
    reverse("portal:plans")
    server = RadiusServer(host="127.0.0.1", acct_port=0, auth_port=0, batch_wait=0.001,
                          nas_refresh=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    thread.start()
    yield server
    stop.set()
    thread.join(timeout=10)
    server.close()


@dataclass
class Subscriber:
    card: object
    imsi: str
    msisdn: str


@pytest.fixture
def subscriber(make_card, make_plan, alice):
    """alice's card with IMSI and MSISDN, 1 GB for 30 days active since now."""
    n = next(_imsi)
    imsi, msisdn = f"0010100000{n:05d}", f"4477009{n:05d}"
    card = make_card(owner=alice, imsi=imsi, msisdn=msisdn)
    period_create(card=card, plan=make_plan(data_bytes=GB, days=30), source=f"test:{imsi}",
                  now=utcnow())
    card.refresh_from_db()
    return Subscriber(card=card, imsi=imsi, msisdn=msisdn)


@dataclass
class Answer:
    answered: int
    output: str


def radclient(port: int, kind: str, packets: list[dict], *, secret: str = SECRET,
              timeout: float = 5, retries: int = 1, parallel: int = 1) -> Answer:
    """Send ``packets`` (attribute → value) with radclient; count the answers."""
    result = subprocess.run(
        [RADCLIENT, "-x", "-r", str(retries), "-t", str(timeout), "-p", str(parallel),
         f"127.0.0.1:{port}", kind, secret],
        input=_separate(packets),
        capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    return Answer(answered=output.count("Received "), output=output)


def _separate(packets: list[dict]) -> str:
    # radclient reads several packets from one input separated by blank lines.
    return "\n\n".join("\n".join(f"{name} = {value}" for name, value in p.items())
                       for p in packets) + "\n"


def acct(status: str, who: Subscriber, session: str = "sess-1", *, up: int = 0,
         down: int = 0, **extra) -> dict:
    """An Accounting-Request about ``who`` with cumulative counters (gigawords included)."""
    attrs = {"Acct-Status-Type": status, "User-Name": f'"{who.imsi}"',
             "Acct-Session-Id": f'"{session}"',
             "Acct-Input-Octets": up % 2**32, "Acct-Output-Octets": down % 2**32}
    if up >= 2**32:
        attrs["Acct-Input-Gigawords"] = up >> 32
    if down >= 2**32:
        attrs["Acct-Output-Gigawords"] = down >> 32
    attrs.update({name.replace("_", "-"): value for name, value in extra.items()})
    return attrs
