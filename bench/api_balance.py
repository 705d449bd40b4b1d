"""Card-balance API against a bare one-row Django view: same server, same database, same run.

Run from the project root:
    bench/api_balance.sh [--admin-url postgres://postgres@127.0.0.1:5432] [--sqlite]
                         [--server gunicorn|granian] [--duration 20] [--rounds 4]
                         [--connections 32]

The database is the bench's own: on PostgreSQL (the default; ``--admin-url`` or
``BENCH_ADMIN_URL`` names the server) a database ``simdesk_bench_<random>`` is created
and dropped at the end; with ``--sqlite`` a SQLite file (WAL) in a temporary directory.
The cache, where the per-token rate limit counts, is Redis (``--redis-url``, as in
production; an empty value uses the project's database cache instead).

Setup: migrate; one customer with one claimed card, a 5 GB plan active on it and some
usage debited through the usage service; a personal access token made by the token
service.

Server: ONE gunicorn with two sync workers on 127.0.0.1 (``--server granian``: granian,
WSGI, two workers of one blocking thread each), production settings with DEBUG off
(``bench.api_balance_settings``: plain HTTP, the rate limit raised and printed) and a
URLconf adding the bare view to the app's (``bench.api_balance_urls``; never in
production's).

Load: wrk, ``--threads`` threads and ``--connections`` connections, a warm-up on both
URLs, then ``--rounds`` alternating rounds (balance then bare, bare then balance, …)
sharing ``--duration`` seconds per URL:
  balance  GET /api/v1/cards/<public_id>/balance   Authorization: Bearer <token>
  bare     GET /bench/row/<period pk>              (one Period row by primary key)

Exact balance: before each round more usage is debited; the API's answer must then equal
the ledger's sum over the active periods, and every response of the round (both URLs) must
show exactly that number (``mismatched``) with a 2xx status (``non2xx``). After the run
the ledger invariant is checked (``ledger_violations``).

req/s is requests over seconds summed across rounds; p50 is the mean of the rounds' p50,
p99 the worst round's p99. CPU per request is the server's processes' and their
PostgreSQL backends' CPU time over the requests served (/proc): on a machine shared
with other work req/s follow the neighbours' load, CPU per request much less.
Ends with one line:
RESULT balance_rps=… bare_rps=… ratio=… balance_p50_ms=… balance_p99_ms=… bare_p99_ms=…
non2xx=0 database=postgresql …
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from support import database_name, postgres_database

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "api_balance.lua"
GB = 1_000_000_000
MB = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(data_dir: str, database_url: str, redis_url: str, rate: str) -> dict:
    env = {name: value for name, value in os.environ.items()
           if name not in ("DATABASE_URL", "REDIS_URL", "TASK_BACKEND", "DEBUG")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.api_balance_settings",
        "PYTHONPATH": str(ROOT),
        "SIMDESK_DATA_DIR": data_dir,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": "http://127.0.0.1",
        "TASK_BACKEND": "database",
        "BENCH_API_RATE_LIMIT": rate,
        "LOG_LEVEL": "WARNING",
    })
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def setup_data(now) -> dict:
    """A customer, her card with an active 5 GB plan and some usage, and her token."""
    from simdesk.accounts.models import User
    from simdesk.accounts.tokens import token_create
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card, CardState
    from simdesk.cards.services import card_debit_usage, period_create
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert

    plan = plan_upsert(code="bench-5gb-30d",
                       terms={"kind": PlanKind.BASE, "data_bytes": 5 * GB, "validity_days": 30,
                              "validity_start": ValidityStart.ON_PURCHASE,
                              "stacking": Stacking.QUEUE, "region": None},
                       translations={"en": ("Bench 5 GB", "")}, prices={"USD": 1200},
                       countries=("FR",), now=now)
    user = User.objects.create_user(email="bench@example.com", password=None)
    card = Card.objects.create(iccid=iccid_with_check_digit("894470099000000001"), owner=user,
                               claimed_at=now, state=CardState.INACTIVE)
    period = period_create(card=card, plan=plan, source="bench:first", now=now)
    card_debit_usage(card=card, bytes=123_456_789, reference="usage:bench:0", at=now, now=now)
    _token, plaintext = token_create(user=user, name="bench", now=now)
    return {"card": card, "period_pk": period.pk, "token": plaintext}


def ledger_remaining(card, now) -> int:
    """What the ledger says is left: its rows summed over the card's usable limited periods."""
    from django.db.models import Q, Sum

    from simdesk.cards.models import LedgerEntry, PeriodState

    rows = LedgerEntry.objects.filter(
        card=card, period__state=PeriodState.ACTIVE, period__unlimited=False).filter(
        Q(period__ends_at__isnull=True) | Q(period__ends_at__gt=now))
    return rows.aggregate(total=Sum("bytes"))["total"] or 0


def http_get_json(url: str, token: str | None = None) -> dict:
    request = urllib.request.Request(url)  # noqa: S310 (http on the loopback)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def server_command(server: str, port: int, workers: int) -> list[str]:
    if server == "granian":
        # One blocking thread per worker: granian's default of many threads per worker
        # opens one database connection per thread.
        return [str(ROOT / ".venv" / "bin" / "granian"), "--interface", "wsgi",
                "--workers", str(workers), "--blocking-threads", "1", "--no-ws",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "config.wsgi:application"]
    return [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
            "--workers", str(workers), "--worker-class", "sync",
            "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--error-logfile", "-",
            "--log-level", "warning"]


def start_server(command: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped while starting; see its log above")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


BENCH_LINE = re.compile(r"^BENCH (.*)$", re.M)


def wrk(url: str, *, seconds: int, threads: int, connections: int, expected: int,
        token: str | None = None) -> dict:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
               "-s", str(LUA)]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    command += [url, "--", str(expected)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = BENCH_LINE.search(out)
    if match is None:
        raise SystemExit(f"wrk printed no BENCH line:\n{out}")
    return {key: int(value) for key, value in
            (item.split("=") for item in match.group(1).split())}


TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")


def _cpu_ticks(pid: int) -> tuple[int, int] | None:
    """(parent pid, user + system ticks) of a process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


class CpuMeter:
    """CPU used by the server (its master and workers) and by the PostgreSQL backends
    serving it, per request: on a shared machine req/s move with the neighbours' load,
    CPU per request much less. Readable only where PostgreSQL runs on this machine."""

    def __init__(self, server_pid: int, database: bool) -> None:
        self.server_pid, self.database = server_pid, database

    def _server_pids(self) -> set[int]:
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (found := _cpu_ticks(int(entry))) is not None:
                parents[int(entry)] = found[0]
        tree, grew = {self.server_pid}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        return tree

    def _backend_pids(self) -> set[int]:
        if not self.database:
            return set()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                           " AND pid <> pg_backend_pid()")
            return {row[0] for row in cursor.fetchall()}

    def snapshot(self) -> dict:
        return {kind: {pid: ticks[1] for pid in pids if (ticks := _cpu_ticks(pid))}
                for kind, pids in (("server", self._server_pids()),
                                   ("database", self._backend_pids()))}

    @staticmethod
    def per_request(before: dict, after: dict, requests: int) -> dict:
        return {kind: round(sum(ticks - before[kind].get(pid, 0)
                                for pid, ticks in after[kind].items()) * TICK_US
                            / max(1, requests))
                for kind in after}


def summarize(runs: list[dict]) -> dict:
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["duration_us"] for run in runs) / 1e6
    return {
        "rps": requests / seconds,
        "p50_ms": sum(run["p50_us"] for run in runs) / len(runs) / 1000,
        "p99_ms": max(run["p99_us"] for run in runs) / 1000,
        "requests": requests,
        "bad": sum(run["non2xx"] for run in runs),
        "mismatched": sum(run["mismatched"] for run in runs),
        "server_cpu_us": round(sum(run.get("server_cpu_us", 0) * run["requests"]
                                   for run in runs) / max(1, requests)),
        "database_cpu_us": round(sum(run.get("database_cpu_us", 0) * run["requests"]
                                     for run in runs) / max(1, requests)),
        "errors": sum(run[key] for run in runs for key in
                      ("connect_errors", "read_errors", "write_errors", "timeouts")),
    }


def bench(args, base: str, data: dict, meter: CpuMeter) -> dict:
    from simdesk.cards.services import card_debit_usage
    from simdesk.core.clock import utcnow

    card, token = data["card"], data["token"]
    urls = {"balance": f"{base}/api/v1/cards/{card.public_id}/balance",
            "bare": f"{base}/bench/row/{data['period_pk']}"}
    load = {"threads": args.threads, "connections": args.connections}

    def exact_now() -> int:
        """The ledger's number, which the API and the bare row must both show now."""
        expected = ledger_remaining(card, utcnow())
        api = http_get_json(urls["balance"], token)["remaining_bytes"]
        row = http_get_json(urls["bare"])["remaining_bytes"]
        if not api == row == expected:
            raise SystemExit(f"balance not exact: ledger {expected}, API {api}, row {row}")
        return expected

    expected = exact_now()
    print(f"before: API remaining_bytes {expected} = ledger {expected}", flush=True)
    warm = [wrk(urls[name], seconds=args.warmup, expected=expected,
                token=token if name == "balance" else None, **load)
            for name in ("balance", "bare")]
    runs: dict[str, list[dict]] = {"balance": [], "bare": []}
    seconds = max(1, args.duration // args.rounds)
    for round_no in range(1, args.rounds + 1):
        # New usage between rounds: a stale (cached) balance would show as mismatched.
        now = utcnow()
        card_debit_usage(card=card, bytes=7 * MB + round_no, reference=f"usage:bench:{round_no}",
                         at=now, now=now)
        expected = exact_now()
        order = ("balance", "bare") if round_no % 2 else ("bare", "balance")
        for name in order:
            before = meter.snapshot()
            run = wrk(urls[name], seconds=seconds, expected=expected,
                      token=token if name == "balance" else None, **load)
            cpu = meter.per_request(before, meter.snapshot(), run["requests"])
            run.update(server_cpu_us=cpu["server"], database_cpu_us=cpu["database"])
            runs[name].append(run)
            print(f"round {round_no} {name:7s}: {run['requests'] / run['duration_us'] * 1e6:5.0f}"
                  f" req/s  p50 {run['p50_us'] / 1000:6.2f} ms  p99 {run['p99_us'] / 1000:6.2f}"
                  f" ms  CPU/req {cpu['server']}+{cpu['database']} µs  non2xx {run['non2xx']}"
                  f"  mismatched {run['mismatched']} (of {expected})", flush=True)
    after = exact_now()
    print(f"after: API remaining_bytes {after} = ledger {after}", flush=True)
    return {"balance": summarize(runs["balance"]), "bare": summarize(runs["bare"]),
            "warmup": summarize(warm)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=os.environ.get(
        "BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432"),
        help="admin URL of the PostgreSQL server where the bench database is created")
    parser.add_argument("--sqlite", action="store_true",
                        help="use a SQLite file in a temporary directory instead")
    parser.add_argument("--redis-url", default=os.environ.get(
        "BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="the cache (rate-limit counters, under a key prefix of this run); "
             "empty: the database cache")
    parser.add_argument("--rate-limit", default="100000000/m",
                        help="API_RATE_LIMIT of the bench server (production: 600/m)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per URL, measured")
    parser.add_argument("--rounds", type=int, default=4,
                        help="alternating rounds sharing --duration (more, shorter rounds "
                             "even out a neighbour's load)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds per URL, not measured")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn",
                        help="gunicorn (sync workers) or granian (WSGI, one thread a worker)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    args = parser.parse_args()

    # Stopped early (SIGTERM), it still stops its server and drops its database.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    data_dir = tempfile.mkdtemp(prefix="simdesk-bench-api-")
    os.makedirs(Path(data_dir) / "static")  # STATIC_ROOT: whitenoise warns if it is missing
    databases = ExitStack()  # the PostgreSQL bench database, dropped at the end
    if args.sqlite:
        database_url = f"sqlite:///{data_dir}/bench.sqlite3"
        name = f"simdesk_bench_{secrets.token_hex(4)}"
    else:
        database_url = databases.enter_context(postgres_database(args.admin_url))
        name = database_name(database_url)
    env = server_env(data_dir, database_url, args.redis_url, args.rate_limit)
    env["BENCH_CACHE_KEY_PREFIX"] = name
    server = None
    log_path = Path(data_dir) / "server.log"
    try:
        os.environ.clear()
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        from simdesk.core.clock import utcnow

        call_command("migrate", "--no-input", verbosity=0)
        if settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
            call_command("createcachetable", verbosity=0)
        data = setup_data(utcnow())
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"database: {connection.vendor}; cache: {cache}; server: {args.server}, "
              f"{args.workers} workers, DEBUG={settings.DEBUG}; "
              f"API_RATE_LIMIT={settings.API_RATE_LIMIT} (production default 600/m); "
              f"wrk -t{args.threads} -c{args.connections}, {args.rounds} rounds, "
              f"{args.duration}s per URL after {args.warmup}s warm-up each", flush=True)
        connection.close()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(server_command(args.server, port, args.workers), env, log_path)
        wait_ready(base, server)
        result = bench(args, base, data, CpuMeter(server.pid, database=not args.sqlite))
        from simdesk.cards.ledger_check import ledger_violations

        violations = sum(1 for _ in ledger_violations())
        connection.close()
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if log_path.exists() and log_path.stat().st_size:
            print("--- server log ---\n" + log_path.read_text()[-4000:], flush=True)
        databases.close()
        shutil.rmtree(data_dir, ignore_errors=True)

    balance, bare, warm = result["balance"], result["bare"], result["warmup"]
    for label, figures in (("balance", balance), ("bare", bare)):
        print(f"{label:7s}: {figures['rps']:7.0f} req/s  p50 {figures['p50_ms']:.2f} ms  "
              f"p99 {figures['p99_ms']:.2f} ms  ({figures['requests']} requests); CPU per "
              f"request: server {figures['server_cpu_us']} µs + database "
              f"{figures['database_cpu_us']} µs")
    non2xx = balance["bad"] + bare["bad"] + warm["bad"]
    mismatched = balance["mismatched"] + bare["mismatched"] + warm["mismatched"]
    errors = balance["errors"] + bare["errors"] + warm["errors"]
    ratio = balance["rps"] / bare["rps"]

    def cpu_us(figures: dict) -> int:
        return figures["server_cpu_us"] + figures["database_cpu_us"]

    print(f"ratio: {ratio:.2f} (goal ≥ 0.7); balance p99 {balance['p99_ms']:.1f} ms "
          f"(goal < 25 ms)")
    print(f"RESULT balance_rps={balance['rps']:.0f} bare_rps={bare['rps']:.0f} "
          f"ratio={ratio:.2f} balance_p50_ms={balance['p50_ms']:.2f} "
          f"balance_p99_ms={balance['p99_ms']:.2f} bare_p99_ms={bare['p99_ms']:.2f} "
          f"non2xx={non2xx} database={'sqlite' if args.sqlite else 'postgresql'} "
          f"mismatched={mismatched} socket_errors={errors} ledger_violations={violations} "
          f"balance_cpu_us={cpu_us(balance)} bare_cpu_us={cpu_us(bare)} "
          f"cache={'redis' if args.redis_url else 'database'} server={args.server} "
          f"rate_limit={args.rate_limit.replace(' ', '')}")
    if non2xx or mismatched or violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
