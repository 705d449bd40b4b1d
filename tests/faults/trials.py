"""Fault trials: simdesk's web server, worker and RADIUS server as real processes under
load, one of them killed with SIGKILL at a random moment of each trial, or the database
restarted; afterwards nothing paid is lost, nothing is charged or counted twice.

A trial: the renewals of its cards are switched on (due at once, the sweep enqueued);
then, at the same time, its customers order and pay through the sandbox over HTTP (API
token, the sandbox's pay page, the sandbox's webhook back to the web server), its usage
arrives through ``POST /api/v1/usage`` and as RADIUS accounting sessions (radclient, with
retransmissions); one process is killed at a random moment and started again after a
random pause. Clients behave as real ones do: an HTTP call that got no answer or a 5xx is
made again (same idempotency key), an accounting packet that radclient got no answer for
is sent again. Then the trial settles (the sweeps the clock would enqueue) and is checked
(``tests.faults.scenario check``). At the end every process stops, the sweeps run once
more past the lease of a killed renewal, and everything is checked again with
``simdesk check-ledger``.
"""

import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from tests.scale.harness import ROOT, base_env, simdesk

from .scenario import API_SOURCE, NAS_SECRET, PLAN

RADCLIENT = shutil.which("radclient")
TEST_CARD = "4242424242424242"
LOAD_DEADLINE = 90.0  # seconds a client keeps trying one call
RETRY_STATUSES = {500, 502, 503, 504}


@contextmanager
def own_database(server_url: str):
    """A new, empty PostgreSQL database on the server ``server_url`` names; yields its URL
    and drops it afterwards. It is named after the database ``server_url`` names
    (``…/simdesk_ci`` gives ``simdesk_ci_<random>``), so that runs sharing a server each
    keep to names of their own; after ``simdesk_faults`` when that is ``postgres``."""
    import psycopg

    parts = urlsplit(server_url)
    base = parts.path.strip("/")
    name = f"{base if base and base != 'postgres' else 'simdesk_faults'}_{secrets.token_hex(4)}"
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scenario(*args: str, env: dict, timeout: float = 300) -> str:
    result = subprocess.run([sys.executable, "-m", "tests.faults.scenario", *args], env=env,
                            cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, \
        f"scenario {args}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
    return result.stdout


def parse(out: str, prefix: str) -> dict:
    return json.loads(next(line for line in out.splitlines()
                           if line.startswith(prefix)).removeprefix(prefix))


class Stack:
    """The processes of one simdesk installation: web (gunicorn, as `simdesk run` starts
    it), worker, RADIUS and optionally the clock, each in its own process group."""

    def __init__(self, env: dict, logs: Path, *, clock: bool = False):
        self.web_port = free_port()
        self.acct_port = free_port(socket.SOCK_DGRAM)
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.env = {**env, "SITE_URL": self.url}
        self.logs = logs
        self.commands = {
            "web": ["-m", "gunicorn", "config.wsgi:application", "--bind",
                    f"127.0.0.1:{self.web_port}", "--workers", "2", "--threads", "4",
                    "--worker-class", "gthread", "--graceful-timeout", "5"],
            "worker": ["-m", "simdesk.cli", "worker"],
            "radius": ["-m", "simdesk.cli", "radius", "--host", "127.0.0.1", "--acct-port",
                       str(self.acct_port), "--auth-port", "0"],
        }
        if clock:
            self.commands["clock"] = ["-m", "simdesk.cli", "clock"]
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.processes[name] = subprocess.Popen(
            [sys.executable, *self.commands[name]], env=self.env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the web server did not start")
        while "RADIUS accounting on" not in (self.logs / "radius.log").read_text():
            assert time.monotonic() < deadline, "the RADIUS server did not start"
            self.assert_alive()
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        process = self.processes[name]
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def assert_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, (
                f"{name} exited with {process.returncode} and nobody restarted it:\n"
                + (self.logs / f"{name}.log").read_text()[-3000:])

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


# --- the load: clients that retry as real ones do ------------------------------------

class Outcomes:
    """What the clients saw: calls that failed (and were made again) and answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.failed_calls = 0
        self.errors: list[str] = []

    def failed(self) -> None:
        with self.lock:
            self.failed_calls += 1


def _call(outcomes: Outcomes, method, url: str, **kwargs) -> requests.Response:
    """The call, made again after a refused connection, a timeout or a 5xx."""
    deadline = time.monotonic() + LOAD_DEADLINE
    while True:
        try:
            response = method(url, timeout=10, **kwargs)
            if response.status_code not in RETRY_STATUSES:
                return response
        except requests.RequestException:
            pass
        outcomes.failed()
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer for {LOAD_DEADLINE:.0f}s")
        time.sleep(0.3)


def order_and_pay(stack: Stack, customer: dict, key: str, outcomes: Outcomes) -> str | None:
    """Order the plan for the customer's card and pay on the sandbox's page; the order's
    id once the pay page took the payment (None if the order was never paid)."""
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {customer['token']}"
    body = {"plan": PLAN, "card": customer["card"], "currency": "USD"}
    response = _call(outcomes, api.post, stack.url + "/api/v1/orders", json=body,
                     headers={"Idempotency-Key": key})
    assert response.status_code in (200, 201), response.text
    order = response.json()["id"]
    deadline = time.monotonic() + LOAD_DEADLINE
    while time.monotonic() < deadline:
        response = _call(outcomes, api.post, f"{stack.url}/api/v1/orders/{order}/pay",
                         json={"gateway": "sandbox"})
        if response.status_code == 409:  # paid already
            return order
        assert response.status_code == 200, response.text
        pay_url = response.json()["redirect_url"]
        if pay_url.startswith("/"):
            pay_url = stack.url + pay_url
        browser = requests.Session()
        page = _call(outcomes, browser.get, pay_url)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if match is None:  # the charge is finished: the page says so
            return order
        answer = _call(outcomes, browser.post, pay_url, allow_redirects=False,
                       data={"csrfmiddlewaretoken": match.group(1), "action": "pay",
                             "card_number": TEST_CARD}, headers={"Referer": pay_url})
        if answer.status_code == 302:
            return order
        if answer.status_code != 403:  # 403: the CSRF cookie of a page before a restart
            raise AssertionError(f"pay page answered {answer.status_code}: {answer.text[:500]}")
    raise AssertionError(f"order {order} could not be paid")


def usage_over_api(stack: Stack, operator_key: str, card: dict, trial: int, k: int,
                   rng: random.Random, outcomes: Outcomes) -> tuple[int, int]:
    """Four batches of three records, a moment apart; a batch is sent again until it is
    answered."""
    sent_bytes = records = 0
    ended = datetime.now(UTC) - timedelta(minutes=1)
    for batch in range(4):
        time.sleep(rng.uniform(0.1, 0.5))
        items = []
        for r in range(3):
            up, down = rng.randrange(1, 10**6), rng.randrange(1, 10**7)
            items.append({"record_id": f"t{trial}-c{k}-b{batch}-r{r}", "imsi": card["imsi"],
                          "bytes_up": up, "bytes_down": down,
                          "started_at": (ended - timedelta(minutes=5)).isoformat(),
                          "ended_at": ended.isoformat()})
        response = _call(outcomes, requests.post, stack.url + "/api/v1/usage",
                         json={"source": API_SOURCE, "records": items},
                         headers={"Authorization": f"Bearer {operator_key}"})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["applied"] + answer["duplicates"] == len(items), answer
        sent_bytes += sum(i["bytes_up"] + i["bytes_down"] for i in items)
        records += len(items)
    return sent_bytes, records


def radius_session(stack: Stack, card: dict, trial: int, k: int, rng: random.Random,
                   outcomes: Outcomes) -> int:
    """Start, four interims and a Stop with growing counters, a moment apart; radclient
    retransmits each three times, and a packet it got no answer for is sent again (as a
    NAS does)."""
    up = down = 0
    statuses = ["Start", *["Interim-Update"] * 4, "Stop"]
    for status in statuses:
        time.sleep(rng.uniform(0.1, 0.5))
        if status != "Start":
            up += rng.randrange(1, 10**6)
            down += rng.randrange(1, 10**7)
        attrs = {"Acct-Status-Type": status, "User-Name": f'"{card["imsi"]}"',
                 "Acct-Session-Id": f'"fault-{trial}-{k}"', "Acct-Input-Octets": up,
                 "Acct-Output-Octets": down}
        text = "\n".join(f"{name} = {value}" for name, value in attrs.items()) + "\n"
        deadline = time.monotonic() + LOAD_DEADLINE
        while True:
            result = subprocess.run(
                [RADCLIENT, "-r", "3", "-t", "1", f"127.0.0.1:{stack.acct_port}", "acct",
                 NAS_SECRET], input=text, capture_output=True, text=True, timeout=60)
            if "Received Accounting-Response" in result.stdout + result.stderr:
                break
            outcomes.failed()
            assert time.monotonic() < deadline, f"no answer to {status} of fault-{trial}-{k}"
    return up + down


def run_load(stack: Stack, setup: dict, expected: dict, trial: int, rng: random.Random,
             outcomes: Outcomes) -> list[threading.Thread]:
    """Start the trial's clients in threads; they record into ``expected``."""
    mine = expected["trials"][trial]
    mine.setdefault("paid_orders", [])
    seeds = [rng.randrange(2**32) for _ in range(2 * len(mine["usage"]))]

    def guard(fn):
        def run():
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - reported with the trial
                with outcomes.lock:
                    outcomes.errors.append(f"{type(error).__name__}: {error}")
        return threading.Thread(target=run)

    threads = []
    for k, customer in enumerate(setup["trials"][trial]["orders"]):
        def buy(customer=customer, k=k):
            order = order_and_pay(stack, customer, f"fault-{trial}-{k}", outcomes)
            if order:
                with outcomes.lock:
                    mine["paid_orders"].append(order)
        threads.append(guard(buy))
    for k, card in enumerate(mine["usage"]):
        def over_api(card=card, k=k):
            sent, records = usage_over_api(stack, setup["operator_key"], card, trial, k,
                                           random.Random(seeds[2 * k]), outcomes)
            with outcomes.lock:
                card["bytes"] = card.get("bytes", 0) + sent
                card["api_records"] = card.get("api_records", 0) + records

        def over_radius(card=card, k=k):
            sent = radius_session(stack, card, trial, k, random.Random(seeds[2 * k + 1]),
                                  outcomes)
            with outcomes.lock:
                card["bytes"] = card.get("bytes", 0) + sent
        threads += [guard(over_api), guard(over_radius)]
    for thread in threads:
        thread.start()
    return threads


def _recover_and_check(stack: Stack, expected_file: Path):
    """The sweeps run 15 minutes later, then the trial's check and check-ledger:
    (the check's report, check-ledger's completed process)."""
    scenario("--shift-minutes", "15", "recover", env=stack.env)
    final = parse(scenario("check", "--expected", str(expected_file), env=stack.env),
                  "REPORT ")
    return final, simdesk("check-ledger", env=stack.env, check=False)


def _write(path: Path, expected: dict) -> None:
    path.write_text(json.dumps(expected))


def fault_trials(*, trials: int, seed: int, database_url: str, work: Path,
                 orders: int = 3, usage: int = 2, renewals: int = 2,
                 kill_window: float = 2.0, say=print) -> dict:
    """Run ``trials`` trials on a new database of the server ``database_url`` names;
    return the totals (``killed``, ``lost``, ``duplicates``, ``ledger_violations``)."""
    rng = random.Random(seed)
    say(f"fault trials: {trials}, seed {seed}")
    with own_database(database_url) as url:
        env = base_env(work, database_url=url, task_backend="database")
        simdesk("migrate", "--no-input", "-v0", env=env)
        setup = parse(scenario("setup", "--trials", str(trials), "--orders", str(orders),
                               "--usage", str(usage), "--renewals", str(renewals), env=env),
                      "SETUP ")
        expected = {"trials": [{"usage": [dict(card) for card in t["usage"]]}
                               for t in setup["trials"]]}
        expected_file = work / "expected.json"
        stack = Stack(env, work)
        stack.start_all()
        killed = {"web": 0, "worker": 0, "radius": 0}
        errors: list[str] = []
        try:
            for trial in range(trials):
                scenario("arm", "--trial", str(trial), env=stack.env)
                outcomes = Outcomes()
                target = rng.choice(sorted(killed))
                at, down = rng.uniform(0, kill_window), rng.uniform(0.1, 1.5)
                started = time.monotonic()
                threads = run_load(stack, setup, expected, trial, rng, outcomes)
                time.sleep(at)
                busy = sum(thread.is_alive() for thread in threads)
                stack.kill(target)
                killed[target] += 1
                time.sleep(down)
                stack.start(target)
                if target == "web" or target == "radius":
                    stack.wait_ready()
                for thread in threads:
                    thread.join()
                load_s = time.monotonic() - started
                stack.assert_alive()
                _write(expected_file, expected)
                report = parse(scenario("check", "--expected", str(expected_file),
                                        "--upto-trial", str(trial), "--wait", "20",
                                        "--sweeps-every", "5", env=stack.env), "REPORT ")
                errors += outcomes.errors
                say(f"trial {trial}: killed {target} at {at:.2f}s ({busy} clients busy), "
                    f"restarted after {down:.2f}s; load {load_s:.1f}s, "
                    f"{outcomes.failed_calls} calls retried; "
                    f"{len(expected['trials'][trial]['paid_orders'])} orders paid, "
                    f"fulfilled so far {report['orders_fulfilled']}, renewed {report['renewed']}"
                    + (f"; pending {report['pending']}" if report["pending"] else "")
                    + (f"; LOST {report['lost']}" if report["lost"] else "")
                    + (f"; DUPLICATES {report['duplicates']}" if report["duplicates"] else "")
                    + (f"; client errors {outcomes.errors}" if outcomes.errors else ""))
        finally:
            stack.stop_all()
        # Past the lease (10 minutes) a killed worker left on a renewal it was charging.
        final, ledger = _recover_and_check(stack, expected_file)
    paid = sum(len(t.get("paid_orders", [])) for t in expected["trials"])
    result = {
        "trials": trials, "killed": killed, "paid_orders": paid,
        "orders_fulfilled": final["orders_fulfilled"], "renewed": final["renewed"],
        "usage_bytes": final["usage_bytes"],
        "lost": len(final["lost"]) + len(final["pending"]) + len(errors),
        "duplicates": len(final["duplicates"]),
        "ledger_violations": len(final["ledger_violations"]) + (ledger.returncode != 0),
        "details": {"lost": final["lost"], "pending": final["pending"], "errors": errors,
                    "duplicates": final["duplicates"],
                    "ledger": final["ledger_violations"], "check_ledger": ledger.stdout[-500:]},
    }
    say(f"check-ledger: {ledger.stdout.strip().splitlines()[-1] if ledger.stdout else ''}")
    return result


def result_line(result: dict) -> str:
    k = result["killed"]
    return (f"RESULT trials={result['trials']} killed_web={k['web']} "
            f"killed_worker={k['worker']} killed_radius={k['radius']} "
            f"lost={result['lost']} duplicates={result['duplicates']} "
            f"ledger_violations={result['ledger_violations']}")


# --- the database restarted under load ---------------------------------------------

POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@contextmanager
def private_postgres():
    """A PostgreSQL server of its own (initdb into a new temporary directory, its own
    port and socket directory), run by the ``postgres`` user when this runs as root;
    yields (admin URL, restart function, server log) and removes it afterwards."""
    assert POSTGRES_BIN, "needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)"
    bin_dir = POSTGRES_BIN[-1]
    home = Path(tempfile.mkdtemp(prefix="simdesk-faults-pg-"))
    data, sockets, log = home / "data", home / "sockets", home / "postgres.log"
    sockets.mkdir()
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_owner:
        for path in (home, sockets):
            shutil.chown(path, "postgres", "postgres")
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"

    def pg(*args):
        result = subprocess.run([*as_owner, *args], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"

    def ctl(*args):
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
           *args)

    try:
        pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
           "-E", "UTF8", "--no-sync")
        ctl("start")
        try:
            yield (f"postgres://postgres@127.0.0.1:{port}/postgres",
                   lambda: ctl("restart", "-m", "fast"), log)
        finally:
            ctl("stop", "-m", "immediate")
    finally:
        shutil.rmtree(home, ignore_errors=True)


def database_restart_trial(*, seed: int, work: Path, say=print) -> dict:
    """Web, worker, clock and RADIUS against a private PostgreSQL server that is restarted
    (``pg_ctl restart -m fast``) in the middle of a trial's load. Nobody restarts the
    processes: they must recover by themselves. The clients see refused or failed calls
    during the outage and make them again; afterwards a second trial runs on the same
    processes, and everything is checked as in the kill trials, plus: every process is
    still running, and the clock enqueued sweeps again after the restart."""
    import psycopg

    rng = random.Random(seed)
    work.mkdir(parents=True, exist_ok=True)
    with private_postgres() as (admin_url, restart, _log), \
            own_database(admin_url) as url:
        env = {**base_env(work, database_url=url, task_backend="database"),
               "CLOCK_TICK_SECONDS": "1"}
        simdesk("migrate", "--no-input", "-v0", env=env)
        setup = parse(scenario("setup", "--trials", "2", env=env), "SETUP ")
        expected = {"trials": [{"usage": [dict(card) for card in t["usage"]]}
                               for t in setup["trials"]]}
        expected_file = work / "expected.json"
        stack = Stack(env, work, clock=True)
        stack.start_all()
        try:
            scenario("arm", "--trial", "0", env=stack.env)
            outcomes = Outcomes()
            threads = run_load(stack, setup, expected, 0, rng, outcomes)
            at = rng.uniform(0.2, 1.2)
            time.sleep(at)
            busy = sum(thread.is_alive() for thread in threads)
            began = time.monotonic()
            restart()
            restarted_at = datetime.now(UTC)
            outage = time.monotonic() - began
            for thread in threads:
                thread.join()
            stack.assert_alive()
            # The clock claims sweep slots again after the restart (1 s ticks; the
            # sandbox's deliveries are due every 15 s).
            deadline = time.monotonic() + 60
            while True:
                with psycopg.connect(url) as conn:
                    last = conn.execute("SELECT max(last_run_at) FROM core_clockslot"
                                        ).fetchone()[0]
                if last is not None and last > restarted_at:
                    break
                assert time.monotonic() < deadline, \
                    "the clock enqueued nothing after the restart:\n" \
                    + (work / "clock.log").read_text()[-3000:]
                time.sleep(1)
            _write(expected_file, expected)
            first = parse(scenario("check", "--expected", str(expected_file), "--upto-trial",
                                   "0", "--wait", "30", "--sweeps-every", "5", env=stack.env),
                          "REPORT ")
            # The same processes then serve a whole trial without help.
            scenario("arm", "--trial", "1", env=stack.env)
            after = Outcomes()
            for thread in run_load(stack, setup, expected, 1, rng, after):
                thread.join()
            stack.assert_alive()
            _write(expected_file, expected)
            second = parse(scenario("check", "--expected", str(expected_file), "--from-trial",
                                    "1", "--wait", "30", "--sweeps-every", "5",
                                    env=stack.env), "REPORT ")
        finally:
            stack.stop_all()
        # What the outage interrupted and a sweep takes up after its delay (a webhook
        # event cut off before processing: two minutes).
        final, ledger = _recover_and_check(stack, expected_file)
    errors = outcomes.errors + after.errors
    result = {
        "restarted_at_s": round(at, 2), "outage_s": round(outage, 2), "clients_busy": busy,
        "calls_retried": outcomes.failed_calls, "calls_retried_after": after.failed_calls,
        "pending_after_outage": first["pending"], "pending_next_trial": second["pending"],
        "next_trial_duplicates": second["duplicates"],
        "paid_orders": sum(len(t.get("paid_orders", [])) for t in expected["trials"]),
        "orders_fulfilled": final["orders_fulfilled"], "renewed": final["renewed"],
        "lost": len(final["lost"]) + len(final["pending"]) + len(errors),
        "duplicates": len(final["duplicates"]),
        "ledger_violations": len(final["ledger_violations"]) + (ledger.returncode != 0),
        "details": {"lost": final["lost"], "pending": final["pending"], "errors": errors,
                    "duplicates": final["duplicates"], "ledger": final["ledger_violations"]},
    }
    say(f"database restart at {at:.2f}s of the load ({busy} clients busy), "
        f"pg_ctl restart took {outage:.2f}s; {outcomes.failed_calls} calls failed and were "
        f"made again; every process still running; 30 s after: "
        f"{len(first['pending'])} items pending {first['pending']}; the next trial on the "
        f"same processes: {len(second['pending'])} pending; {result['paid_orders']} orders paid, "
        f"{result['orders_fulfilled']} fulfilled, {result['renewed']} renewed; "
        f"lost={result['lost']} duplicates={result['duplicates']} "
        f"ledger_violations={result['ledger_violations']}")
    return result
