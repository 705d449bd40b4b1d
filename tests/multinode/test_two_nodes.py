"""Production's shape on one machine: two web nodes (gunicorn), two RQ workers and a clock,
each its own process, sharing one PostgreSQL database and one Redis, with a customer's
journey going back and forth between the two web nodes.

alice signs in on node A and goes on on node B (the session lives in the shared
database); she buys a plan on B, pays it on A and submits the sandbox's page on B,
whose signed webhook goes to A (SITE_URL, the public address, is node A's); the
network's usage arrives through the API of both nodes; she switches auto-renewal on
and the clock's sweep has a worker renew the card; she asks for the renewal's refund
on A and pauses the card on B. Then: every paid order fulfilled once, one charge per
payment, the ledger consistent, each job run by one worker once, each sweep enqueued
once per interval.

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); skipped otherwise. The database
is a private one, created and dropped here; Redis a private ``redis-server`` on a free
port when the binary is there, else the database REDIS_URL names (emptied first: give the
test a database number of its own).
"""

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.faults.trials import own_database
from tests.scale.harness import (
    assert_ledger_consistent,
    base_env,
    parse_report,
    postgres_url,
    run,
    simdesk,
    start,
    stop,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CLOCK_TICK = "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, processes=()):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        for process in processes:
            assert process.poll() is None, f"a process died while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


@contextmanager
def private_redis(tmp_path):
    """A Redis of this test's own: its URL."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        # The database REDIS_URL names, emptied first: give the test one of its own.
        url = os.environ["REDIS_URL"]
        redis.Redis.from_url(url).flushdb()
        yield url
        return
    port = free_port()
    log = open(tmp_path / "redis.log", "ab")  # noqa: SIM115 - closed below
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--daemonize", "no"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)

        def answers():
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_until(answers, timeout=20, what="redis-server", processes=[server])
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


class Node:
    """One web node: its base URL; requests go through alice's one browser session."""

    def __init__(self, name: str, port: int, browser):
        self.name, self.base, self.browser = name, f"http://127.0.0.1:{port}", browser

    def get(self, path: str, **kwargs):
        return self.browser.get(self.base + path, allow_redirects=False, timeout=30, **kwargs)

    def post(self, path: str, data: dict, **kwargs):
        # The CSRF cookie's secret is a valid form token; it is the same cookie for both
        # nodes (one host, as behind one proxy).
        data = {"csrfmiddlewaretoken": self.browser.cookies.get("csrftoken", ""), **data}
        return self.browser.post(self.base + path, data=data, allow_redirects=False,
                                 timeout=30, headers={"Referer": self.base + path}, **kwargs)

    def api(self, method: str, path: str, *, key: str, json=None):
        import requests

        return requests.request(method, f"{self.base}/api/v1{path}", json=json, timeout=30,
                                headers={"Authorization": f"Bearer {key}"})


def usage_records(iccid: str, numbers) -> list[dict]:
    ended = datetime.now(UTC) - timedelta(seconds=5)
    return [{"record_id": f"m{n}", "iccid": iccid, "bytes_up": 1_000_000 * n,
             "bytes_down": 2_000_000, "started_at": (ended - timedelta(minutes=5)).isoformat(),
             "ended_at": ended.isoformat()} for n in numbers]


def _report(env) -> dict:
    return parse_report(run(["-m", "tests.multinode.scene", "report"], env=env).stdout)


@pytest.fixture
def cluster(tmp_path):
    """Two web nodes, two workers and a clock (started later, by the test) on a private
    PostgreSQL database and a private Redis; yields what the test needs."""
    with ExitStack() as stack:
        database = stack.enter_context(own_database(postgres_url()))
        redis_url = stack.enter_context(private_redis(tmp_path))
        env = base_env(tmp_path, database_url=database, task_backend="rq", redis_url=redis_url)
        env.update(SECRET_KEY=f"multinode-{uuid.uuid4().hex}-{uuid.uuid4().hex}",
                   CLOCK_TICK_SECONDS=CLOCK_TICK, LOG_LEVEL="INFO",
                   # Pages, the API and webhooks are what is measured, not their limits.
                   API_RATE_LIMIT="off", API_ANONYMOUS_RATE_LIMIT="off")
        simdesk("migrate", "--no-input", "-v0", env=env)
        scene = __import__("json").loads(
            run(["-m", "tests.multinode.scene", "setup"], env=env).stdout)
        ports = [free_port(), free_port()]
        processes = []
        stack.callback(lambda: [stop(p) for p in reversed(processes)])
        # SITE_URL is node A for every process (in production: the proxy's address): the
        # sandbox's webhooks, sent by node B or by a worker, arrive at node A.
        env["SITE_URL"] = f"http://127.0.0.1:{ports[0]}"
        for i, port in enumerate(ports):
            processes.append(start(["-m", "gunicorn", "config.wsgi:application",
                                    "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                    "--graceful-timeout", "5", "--access-logfile", "-"],
                                   env=env, log=tmp_path / f"web-{i}.log"))
        for i in range(2):
            processes.append(start(["-m", "simdesk.cli", "worker"], env=env,
                                   log=tmp_path / f"worker-{i}.log"))

        import requests

        def healthy():
            try:
                return all(requests.get(f"http://127.0.0.1:{p}/healthz", timeout=10)
                           .status_code == 200 for p in ports)
            except requests.RequestException:  # not listening yet, or still booting
                return False

        wait_until(healthy, timeout=60, what="both web nodes", processes=processes)
        browser = requests.Session()
        yield {"env": env, "scene": scene, "tmp": tmp_path,
               "processes": processes, "redis_url": redis_url,
               "a": Node("A", ports[0], browser), "b": Node("B", ports[1], browser)}


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def test_a_customer_journey_runs_through_two_web_nodes_two_workers_and_a_clock(cluster):
    a, b, scene, env = cluster["a"], cluster["b"], cluster["scene"], cluster["env"]
    processes, tmp = cluster["processes"], cluster["tmp"]

    # alice signs in on A ...
    assert a.get("/accounts/login/").status_code == 200
    login = a.post("/accounts/login/", {"login": scene["email"], "password": scene["password"]})
    assert login.status_code == 302, login.text[:500]
    # ... and B knows her (one session store for every node)
    page = b.get(f"/plans/{scene['plan']}/?currency=USD")
    assert page.status_code == 200 and 'name="card"' in page.text
    html = page.text

    # She buys on B
    response = b.post("/checkout/", {
        "plan": field(html, "plan"), "currency": field(html, "currency"),
        "idempotency_key": field(html, "idempotency_key"), "card": scene["card"]})
    assert response.status_code == 302, response.text[:500]
    checkout = response.headers["Location"]
    order_id = checkout.strip("/").split("/")[-1]
    # reviews and chooses the sandbox on A (keeping the card for auto-renewal)
    assert a.get(checkout).status_code == 200
    to_gateway = a.post(f"{checkout}pay/", {"gateway": "sandbox", "save_method": "on"})
    assert to_gateway.status_code == 302, to_gateway.text[:500]
    pay_page = urlsplit(to_gateway.headers["Location"]).path
    # and submits the sandbox's page on B; its signed webhook goes to A
    assert b.get(pay_page).status_code == 200
    paid = b.post(pay_page, {"action": "pay", "card_number": "4242 4242 4242 4242"})
    assert paid.status_code == 302, paid.text[:500]

    def fulfilled():
        status = a.get(f"/orders/{order_id}/")
        return status.status_code == 200 and "Paid and active" in status.text

    wait_until(fulfilled, timeout=30, what="the order to be fulfilled", processes=processes)

    # The network's usage arrives through the API of both nodes, overlapping
    key = scene["operator_key"]
    first = a.api("POST", "/usage", key=key, json={
        "source": "mediation", "records": usage_records(scene["iccid"], range(0, 10))})
    second = b.api("POST", "/usage", key=key, json={
        "source": "mediation", "records": usage_records(scene["iccid"], range(5, 15))})
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert (first.json()["applied"], first.json()["duplicates"]) == (10, 0)
    assert (second.json()["applied"], second.json()["duplicates"]) == (5, 5)
    balance = b.get(f"/api/v1/cards/{scene['card']}/balance")
    assert balance.status_code == 200, balance.text[:300]

    # She switches auto-renewal on, on B, with the card she kept: 14 days before the end
    # of a 10-day plan, so it is due at once
    method = _report(env)["saved_method"]
    assert method
    renewal = b.post(f"/cards/{scene['card']}/renewal/", {
        "enabled": "on", "plan": scene["plan_id"], "trigger_before_expiry_hours": "336",
        "trigger_low_data_percent": "", "payment_method": method})
    assert renewal.status_code == 302, renewal.text[:500]

    # The clock starts: its renewal sweep goes to a worker, which renews the card
    clock = start(["-m", "simdesk.cli", "clock"], env=env,
                  log=tmp / "clock.log")
    processes.append(clock)
    report = wait_until(lambda: (r := _report(env))["queued_period"] and r, timeout=60,
                        what="the renewal", processes=processes)
    assert report["renewal_attempts"] == {"succeeded": 1}

    # alice asks for the renewal's refund on A (unused, in the window: refunded at once)
    refund = a.post(f"/cards/{scene['card']}/periods/{report['queued_period']}/refund/",
                    {"reason": "changed my mind"})
    assert refund.status_code == 302, refund.text[:500]
    # and pauses the card on B; A shows it paused
    assert b.post(f"/cards/{scene['card']}/pause/", {}).status_code == 302
    assert "Resume" in a.get(f"/cards/{scene['card']}/").text

    # Let the clock tick a few more times and the workers drain what was enqueued
    import redis

    queue = redis.Redis.from_url(cluster["redis_url"])
    time.sleep(3 * float(CLOCK_TICK))
    wait_until(lambda: queue.llen("rq:queue:default") == 0
               and not queue.zcard("rq:wip:default"), timeout=30, what="empty queues",
               processes=processes)
    time.sleep(1)
    for process in reversed(processes):
        stop(process)
    report = _report(env)
    logs = {path.name: path.read_text() for path in tmp.glob("*.log")}
    summary = {k: v for k, v in report.items() if k != "clock_slots"}

    # Then every paid order was fulfilled once, and every payment charged once
    assert report["paid_orders"] == report["paid_orders_with_period"] == 2, summary
    assert report["payments_succeeded"] == report["charges_succeeded"] == 2, summary
    assert report["payments_per_reference"] == 1, summary
    assert report["webhook_events"].get("failed") is None, summary
    assert report["refund_requests"] == {"refunded": 1}, summary
    assert report["paused"] and report["card_state"] == "paused", summary
    # and each usage record was kept once and rated, and the card debited its bytes once
    assert report["usage_records"] == report["usage_records_rated"] == 15, summary
    assert report["usage_bytes_rated"] == report["usage_bytes_debited"] \
        == sum(1_000_000 * n + 2_000_000 for n in range(15)), summary
    # and the ledger is consistent (every period's balance, every rated record's usage
    # rows)
    assert report["violations"] == [], summary
    assert_ledger_consistent(env)
    # and no job ran twice: each RQ job id finished once, by one of the two workers
    finished = [job for name in ("worker-0.log", "worker-1.log")
                for job in re.findall(r"Job OK \(([^)]+)\)", logs[name])]
    assert finished, logs["worker-0.log"][-2000:]
    assert len(finished) == len(set(finished))
    assert all(re.search(r"Job OK", logs[name]) for name in ("worker-0.log", "worker-1.log")), \
        "both workers took jobs"
    # and no 5xx from either node
    for name in ("web-0.log", "web-1.log"):
        assert not re.search(r'" 5\d\d ', logs[name]), logs[name][-3000:]
    # and the clock enqueued each sweep at most once per interval
    from config.schedule import SCHEDULE

    every = {sweep.name: sweep.every for sweep in SCHEDULE}
    task_of = {sweep.name: sweep.task for sweep in SCHEDULE}
    enqueued: dict[str, list[datetime]] = {}
    for stamp, name in re.findall(
            r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+) INFO \S+ clock: enqueued sweep (\S+)$",
            logs["clock.log"], flags=re.M):
        enqueued.setdefault(name, []).append(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f"))
    assert set(enqueued) == set(every), logs["clock.log"][-2000:]
    for name, times in enqueued.items():
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        assert all(gap >= every[name] - timedelta(seconds=1) for gap in gaps), (name, times)
        # and each sweep enqueued ran once, on one worker
        ran = sum(len(re.findall(rf"Successfully completed {re.escape(task_of[name])}\(",
                                 logs[log])) for log in ("worker-0.log", "worker-1.log"))
        assert ran == len(times), (name, ran, len(times))
