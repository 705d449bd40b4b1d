"""RADIUS accounting load: requests per second answered end to end with the usage durably
stored, by `simdesk radius` and, in the same run, by FreeRADIUS writing accounting to
PostgreSQL with its stock SQL module.

Run from the project root:
    .venv/bin/python bench/radius_load.py [--packets 60000] [--clients 4] [--workers 2]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Load: ``--packets`` Accounting-Requests over ``--sessions`` sessions of 1,000 cards
(User-Name = IMSI, Calling-Station-Id, 3GPP-SGSN-MCC-MNC): every session sends a Start,
Interim-Updates with growing cumulative counters and a Stop. The sessions are split
over ``--clients`` parallel radclient processes; each sends its sessions one round at a
time (all Starts, then each round of interims, then the Stops) from files of at most
3,000 packets (radclient slows down with the square of its input size), 128 requests
in flight per client (``--in-flight``). The same files go to both servers; the figure
is packets / wall time from the first request to the last answer.

simdesk: a database ``simdesk_bench_radius_<random>`` is created on the PostgreSQL
server of ``--database-url``, migrated, given 1,000 cards each with an active 1 TB
period and one NAS; `simdesk radius --workers N` (default one per core, sharing the
port with SO_REUSEPORT) serves it. Every answer is sent after
the batch's transaction committed (fsync and synchronous_commit as the server is
configured; both are printed). Checked afterwards: the usage rated equals the sum of
the sessions' final counters, exactly once.

FreeRADIUS (Debian's freeradius + freeradius-postgresql, if installed): a copy of the
stock configuration in a temporary directory, listening on its own ports, the stock
``default`` virtual server with its stock accounting section (detail, unix, sql, exec,
attr_filter) and the ``sql`` module switched to PostgreSQL with the stock queries and
schema, in a database of its own. If it is not installed the bench says so and prints
the simdesk figure alone; install it with
    apt-get install freeradius freeradius-postgresql
(the Debian package starts a system service on 1812/1813; stop it or keep it from
starting, e.g. with a policy-rc.d that exits 101).

The servers take ``--runs`` turns each (default 3; simdesk, FreeRADIUS, simdesk, …; a
later simdesk run restarts the same sessions after their Stop, so it rates them again)
and every figure is the median of the turns: on a shared machine the load of others
changes from one minute to the next. Besides requests per second the bench reads the
CPU time the server's processes and their PostgreSQL backends used, per request, which
does not depend on what else runs.

Ends with one line:
RESULT simdesk_per_s=… freeradius_per_s=… ratio=… lost=… simdesk_cpu_us=… freeradius_cpu_us=…
"""

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from support import database_name, postgres_database, with_database

ROOT = Path(__file__).resolve().parents[1]
SIMDESK = ROOT / ".venv" / "bin" / "simdesk"
RADCLIENT = shutil.which("radclient")
FREERADIUS = shutil.which("freeradius") or shutil.which("radiusd")
STOCK_RADDB = Path("/etc/freeradius/3.0")
SECRET = "bench-radius-shared-secret"  # noqa: S105 - the bench NAS only
CARDS = 1000
FILE_LIMIT = 3000
IN_FLIGHT = 128
UP, DOWN = 10_000, 100_000  # bytes per round per session


def free_port(pair: bool = False) -> int:
    """A free UDP port (and the next one, for FreeRADIUS's auth/acct pair)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if not pair or port >= 65535:
            return port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free UDP port pair")


def imsi(card: int) -> str:
    return f"00101{card:010d}"


# --- load ---------------------------------------------------------------------------


def write_load(directory: Path, *, sessions: int, rounds: int, clients: int) -> list[list[Path]]:
    """Per client, its files in sending order; round 1 is Start, the last round Stop."""
    plan: list[list[Path]] = [[] for _ in range(clients)]
    for client in range(clients):
        mine = range(client, sessions, clients)
        for r in range(1, rounds + 1):
            status = "Start" if r == 1 else "Stop" if r == rounds else "Interim-Update"
            packets = []
            for s in mine:
                card = s % CARDS
                packets.append(
                    f"Acct-Status-Type = {status}\n"
                    f'User-Name = "{imsi(card)}"\n'
                    f'Calling-Station-Id = "4477{card:08d}"\n'
                    f'Acct-Session-Id = "bench-{s:08d}"\n'
                    f"NAS-IP-Address = 127.0.0.1\n"
                    f"NAS-Port = {s % 65536}\n"
                    f"Acct-Input-Octets = {(r - 1) * UP}\n"
                    f"Acct-Output-Octets = {(r - 1) * DOWN}\n"
                    f"Acct-Session-Time = {(r - 1) * 60}\n"
                    f'3GPP-SGSN-MCC-MNC = "23415"\n')
            for part in range(0, len(packets), FILE_LIMIT):
                path = directory / f"c{client}-r{r:03d}-{part // FILE_LIMIT}.txt"
                path.write_text("\n".join(packets[part:part + FILE_LIMIT]))
                plan[client].append(path)
    return plan


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return found
    for child in children:
        found += _descendants(int(child))
    return found


class CpuMeter:
    """CPU used by a server (its processes) and by its PostgreSQL backends: the machine
    may be shared, and CPU per request does not depend on what else runs."""

    def __init__(self, server_pid: int, admin: str, db_name: str):
        self.server_pid, self.admin, self.db_name = server_pid, admin, db_name

    def snapshot(self) -> dict[tuple[str, int], float]:
        import psycopg

        with psycopg.connect(with_database(self.admin, "postgres")) as conn:
            backends = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.db_name])]
        return {**{("server", pid): _cpu_seconds(pid)
                   for pid in _descendants(self.server_pid)},
                **{("database", pid): _cpu_seconds(pid) for pid in backends}}


def run_load(plan: list[list[Path]], port: int, in_flight: int,
             meter: CpuMeter | None = None) -> tuple[float, int, int, dict[str, float]]:
    """All clients in parallel, each its files in order;
    (seconds, answered, lost, CPU seconds of the server and of its database backends)."""
    outputs: list[str] = []

    def client(files: list[Path]) -> None:
        for path in files:
            done = subprocess.run(
                [RADCLIENT, "-q", "-s", "-p", str(in_flight), "-r", "5", "-t", "3",
                 "-f", str(path), f"127.0.0.1:{port}", "acct", SECRET],
                capture_output=True, text=True)
            outputs.append(done.stdout + done.stderr)

    threads = [threading.Thread(target=client, args=(files,)) for files in plan]
    before = meter.snapshot() if meter else {}
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    after = meter.snapshot() if meter else {}
    cpu = {"server": 0.0, "database": 0.0}
    for key, seconds in after.items():
        cpu[key[0]] += seconds - before.get(key, 0.0)
    answered = sum(int(n) for out in outputs for n in re.findall(r"Accepted\s*:\s*(\d+)", out))
    lost = sum(int(n) for out in outputs for n in re.findall(r"Lost\s*:\s*(\d+)", out))
    return elapsed, answered, lost, cpu


# --- simdesk ------------------------------------------------------------------------


def simdesk_prepare(url: str, data_dir: str) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "SIMDESK_DATA_DIR": data_dir, "DEBUG": "false", "SECRET_KEY": "bench-only-not-secret",
           "SITE_URL": "http://127.0.0.1:9", "TASK_BACKEND": "database", "DATABASE_URL": url}
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", "--no-input", verbosity=0)
    from simdesk.cards.iccid import iccid_with_check_digit
    from simdesk.cards.models import Card
    from simdesk.cards.services import period_create
    from simdesk.catalog.models import PlanKind, Stacking, ValidityStart
    from simdesk.catalog.services import plan_upsert
    from simdesk.core.clock import utcnow
    from simdesk.radius.models import NasClient

    now = utcnow() - timedelta(minutes=5)
    plan = plan_upsert(code="bench-1tb", terms={
        "kind": PlanKind.BASE, "data_bytes": 10**12, "validity_days": 30,
        "validity_start": ValidityStart.ON_PURCHASE, "stacking": Stacking.QUEUE,
        "region": None}, translations={"en": ("Bench 1 TB", "")}, prices={"USD": 100},
        countries=("GB",), now=now)
    cards = Card.objects.bulk_create(
        Card(iccid=iccid_with_check_digit(f"894470077{i:09d}"), imsi=imsi(i),
             msisdn=f"4477{i:08d}") for i in range(CARDS))
    for card in cards:
        period_create(card=card, plan=plan, source=f"bench:{card.pk}", now=now)
    NasClient.objects.create(name="bench", address="127.0.0.1", secret=SECRET)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW fsync")
        fsync = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    connection.close()
    print(f"PostgreSQL: fsync={fsync} synchronous_commit={sync}", flush=True)
    return env


def simdesk_run(plan, env: dict, workers: int, batch_size: int, in_flight: int,
                admin: str, db_name: str) -> tuple[float, int, int, dict, str]:
    port = free_port()
    server = subprocess.Popen(
        [str(SIMDESK), "radius", "--host", "127.0.0.1", "--acct-port", str(port),
         "--auth-port", "0", "--workers", str(workers), "--batch-size", str(batch_size)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = server.stdout.readline()
    if "RADIUS accounting on" not in first:
        server.kill()
        raise RuntimeError(f"simdesk radius did not start: {first}{server.stdout.read()}")
    time.sleep(0.5 if workers > 1 else 0.1)  # the other workers bind their sockets
    try:
        elapsed, answered, lost, cpu = run_load(plan, port, in_flight,
                                                CpuMeter(server.pid, admin, db_name))
    finally:
        server.send_signal(signal.SIGTERM)
        tail = server.communicate(timeout=30)[0]
    return (elapsed, answered, lost, cpu,
            tail.strip().splitlines()[-1] if tail.strip() else "")


def simdesk_check(sessions: int, rounds: int, runs: int) -> str:
    """Exactly once: rated usage equals the final counters of every run (each run
    restarts the sessions after their Stop), one rated record per increase, and no
    record left waiting for a rating run."""
    from django.db import connection
    from django.db.models import Sum

    from simdesk.cards.models import LedgerEntry, LedgerKind
    from simdesk.radius.models import RadiusSession
    from simdesk.usage.models import RatingCursor, Record

    expected = runs * sessions * (rounds - 1) * (UP + DOWN)
    counters = RadiusSession.objects.aggregate(i=Sum("bytes_in"), o=Sum("bytes_out"))
    debited = -(LedgerEntry.objects.filter(kind=LedgerKind.DEBIT_USAGE)
                .aggregate(b=Sum("bytes"))["b"] or 0)
    through = RatingCursor.objects.filter(pk=1).values_list("through", flat=True).first() or 0
    records = Record.objects.filter(pk__lte=through).count()
    waiting = Record.objects.filter(pk__gt=through).count()
    last_run = (counters["i"] or 0) + (counters["o"] or 0)  # a run's final counters
    connection.close()
    ok = (debited == expected and last_run * runs == expected
          and records == runs * sessions * (rounds - 1) and waiting == 0)
    return (f"usage expected={expected} rated={debited} last run's counters={last_run} "
            f"records={records} waiting={waiting} exact={'yes' if ok else 'NO'}")


# --- FreeRADIUS ---------------------------------------------------------------------


def freeradius_unavailable() -> str:
    if FREERADIUS is None:
        return ("freeradius is not installed (apt-get install freeradius "
                "freeradius-postgresql)")
    if not STOCK_RADDB.is_dir():
        return f"no stock FreeRADIUS configuration in {STOCK_RADDB}"
    if not (STOCK_RADDB / "mods-config/sql/main/postgresql/schema.sql").exists():
        return "freeradius-postgresql's schema is missing (apt-get install freeradius-postgresql)"
    libs = list(Path("/usr/lib").rglob("rlm_sql_postgresql.so"))
    if not libs:
        return "rlm_sql_postgresql is not installed (apt-get install freeradius-postgresql)"
    return ""


def freeradius_prepare(directory: Path, admin: str, db_name: str) -> Path:
    """A copy of the stock configuration: own ports (given on the command line), logs and
    run files in ``directory``, runs as the current user, sql module on PostgreSQL."""
    import psycopg

    raddb = directory / "raddb"
    shutil.copytree(STOCK_RADDB, raddb, symlinks=True)
    conf = (raddb / "radiusd.conf").read_text()
    for name, value in (("logdir", directory / "log"), ("run_dir", directory / "run"),
                        ("raddbdir", raddb), ("db_dir", directory / "db")):
        conf = re.sub(rf"^{name}\s*=.*$", f"{name} = {value}", conf, count=1, flags=re.M)
        Path(value).mkdir(exist_ok=True)
    conf = re.sub(r"^(\s*)(user|group)\s*=", r"\1#\2 =", conf, flags=re.M)
    (raddb / "radiusd.conf").write_text(conf)
    clients = (raddb / "clients.conf").read_text()
    (raddb / "clients.conf").write_text(clients.replace("testing123", SECRET, 1))
    (raddb / "sites-enabled" / "inner-tunnel").unlink(missing_ok=True)  # its own fixed port
    parts = urlsplit(admin)
    sql = (raddb / "mods-available" / "sql").read_text()
    sql = re.sub(r'dialect = "sqlite"', 'dialect = "postgresql"', sql, count=1)
    sql = re.sub(r'driver = "rlm_sql_null"', 'driver = "rlm_sql_${dialect}"', sql, count=1)
    sql = re.sub(r'#\s*server = "localhost"', f'server = "{parts.hostname or "127.0.0.1"}"',
                 sql, count=1)
    sql = re.sub(r'#\s*port = 3306', f"port = {parts.port or 5432}", sql, count=1)
    sql = re.sub(r'#\s*login = "radius"', f'login = "{parts.username or "postgres"}"',
                 sql, count=1)
    sql = re.sub(r'#\s*password = "radpass"', f'password = "{parts.password or ""}"',
                 sql, count=1)
    sql = re.sub(r'radius_db = "radius"', f'radius_db = "{db_name}"', sql, count=1)
    (raddb / "mods-available" / "sql").write_text(sql)
    link = raddb / "mods-enabled" / "sql"
    if not link.exists():
        link.symlink_to("../mods-available/sql")
    schema = (raddb / "mods-config/sql/main/postgresql/schema.sql").read_text()
    with psycopg.connect(with_database(admin, db_name), autocommit=True) as conn:
        conn.execute(schema)
    return raddb


def freeradius_listen(raddb: Path, port: int) -> None:
    """The stock ``default`` virtual server, listening on 127.0.0.1 only: auth on
    ``port``, accounting on ``port + 1`` (its IPv6 listeners dropped). The command line's
    -i/-p would bypass the virtual server's sections."""
    site = raddb / "sites-enabled" / "default"
    lines = site.read_text().splitlines(keepends=True)
    out, block = [], None
    for line in lines:
        if block is None and line.startswith("listen {"):
            block = [line]
            continue
        if block is not None:
            block.append(line)
            if line.startswith("}"):
                text = "".join(block)
                if not re.search(r"^\s*ipv6addr\s*=", text, flags=re.M):
                    acct = re.search(r"^\s*type = acct", text, flags=re.M) is not None
                    text = re.sub(r"^(\s*)ipaddr = \*", r"\1ipaddr = 127.0.0.1", text,
                                  flags=re.M)
                    text = re.sub(r"^(\s*)port = 0", rf"\g<1>port = {port + acct}", text,
                                  flags=re.M)
                    out.append(text)
                block = None
            continue
        out.append(line)
    site.unlink()
    site.write_text("".join(out))


def freeradius_run(plan, raddb: Path, port: int, directory: Path, in_flight: int, admin: str,
                   db_name: str) -> tuple[float, int, int, dict]:
    log = directory / "log" / "radiusd.out"
    server = subprocess.Popen([FREERADIUS, "-f", "-d", str(raddb), "-l", str(log)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        probe = directory / "probe.txt"
        probe.write_text('Acct-Status-Type = Start\nUser-Name = "probe"\n'
                         'Acct-Session-Id = "probe-1"\nNAS-IP-Address = 127.0.0.1\n')
        for _ in range(60):
            if server.poll() is not None:
                raise RuntimeError("freeradius exited: " + log.read_text()[-2000:])
            ok = subprocess.run([RADCLIENT, "-q", "-r", "1", "-t", "0.5", "-f", str(probe),
                                 f"127.0.0.1:{port + 1}", "acct", SECRET],
                                capture_output=True).returncode == 0
            if ok:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("freeradius did not answer: " + log.read_text()[-2000:])
        return run_load(plan, port + 1, in_flight, CpuMeter(server.pid, admin, db_name))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def freeradius_rows(admin: str, db_name: str) -> int:
    import psycopg

    with psycopg.connect(with_database(admin, db_name)) as conn:
        return conn.execute("SELECT count(*) FROM radacct WHERE acctsessionid LIKE 'bench-%'"
                            ).fetchone()[0]


# --- main ---------------------------------------------------------------------------


def _split(cpu: dict[str, float], packets: int) -> str:
    return ", ".join(f"{name} {seconds / packets * 1e6:.0f}" for name, seconds in cpu.items())



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=60_000)
    parser.add_argument("--sessions", type=int, default=0,
                        help="sessions (default: packets / 10, i.e. 10 packets a session)")
    parser.add_argument("--clients", type=int, default=4, help="parallel radclient processes")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT,
                        help="requests each radclient keeps in flight (its -p)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="simdesk radius processes (default: one per core)")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of a PostgreSQL server (bench databases are created)")
    parser.add_argument("--runs", type=int, default=3,
                        help="turns each server takes (the figures are medians)")
    parser.add_argument("--no-freeradius", action="store_true")
    args = parser.parse_args()
    if RADCLIENT is None:
        sys.exit("radclient is missing (apt-get install freeradius-utils)")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sessions = args.sessions or max(args.clients, args.packets // 10)
    rounds = max(3, args.packets // sessions)
    packets = sessions * rounds

    admin = args.database_url
    work = Path(tempfile.mkdtemp(prefix="simdesk-bench-radius-"))
    databases = ExitStack()  # each dropped at the end, however the bench ends
    try:
        simdesk_db = database_name(databases.enter_context(
            postgres_database(admin, "simdesk_bench_radius")))
        load_dir = work / "load"
        load_dir.mkdir()
        plan = write_load(load_dir, sessions=sessions, rounds=rounds, clients=args.clients)
        files = sum(len(p) for p in plan)
        print(f"load: {packets} Accounting-Requests ({sessions} sessions x {rounds}: Start, "
              f"{rounds - 2} Interim-Update, Stop) in {files} files of <= {FILE_LIMIT}, "
              f"{args.clients} radclient processes x {args.in_flight} in flight", flush=True)

        env = simdesk_prepare(with_database(admin, simdesk_db), str(work))
        reason = "skipped (--no-freeradius)" if args.no_freeradius else freeradius_unavailable()
        if not reason:
            try:
                fr_db = database_name(databases.enter_context(
                    postgres_database(admin, "freeradius_bench")))
                raddb = freeradius_prepare(work / "freeradius", admin, fr_db)
                fr_port = free_port(pair=True)  # auth on it, accounting on the next one
                freeradius_listen(raddb, fr_port)
            except Exception as error:
                reason = f"FreeRADIUS could not be set up: {error}"
        # The machine may be shared: the two servers take turns, and each figure is the
        # median of its runs.
        ours, theirs, total_lost = [], [], 0
        for run in range(1, args.runs + 1):
            elapsed, answered, lost, cpu, stats = simdesk_run(
                plan, env, args.workers, args.batch_size, args.in_flight, admin, simdesk_db)
            ours.append((packets / elapsed, sum(cpu.values()) / packets * 1e6))
            total_lost += lost + (packets - answered)
            print(f"run {run} simdesk radius (workers={args.workers}, batch<={args.batch_size})"
                  f": {answered}/{packets} answered, lost={lost}, {elapsed:.2f} s, "
                  f"{ours[-1][0]:,.0f} requests/s; CPU a request {ours[-1][1]:.0f} us "
                  f"({_split(cpu, packets)})", flush=True)
            print(f"  server: {stats}", flush=True)
            if reason:
                continue
            try:
                fr_elapsed, fr_answered, fr_lost, fr_cpu = freeradius_run(
                    plan, raddb, fr_port, work / "freeradius", args.in_flight, admin, fr_db)
            except Exception as error:  # report why, keep the simdesk figure
                reason = f"FreeRADIUS run failed: {error}"
                continue
            theirs.append((packets / fr_elapsed, sum(fr_cpu.values()) / packets * 1e6))
            print(f"run {run} FreeRADIUS (stock accounting section, rlm_sql_postgresql): "
                  f"{fr_answered}/{packets} answered, lost={fr_lost}, {fr_elapsed:.2f} s, "
                  f"{theirs[-1][0]:,.0f} requests/s; CPU a request {theirs[-1][1]:.0f} us "
                  f"({_split(fr_cpu, packets)})", flush=True)
        print(f"simdesk: {simdesk_check(sessions, rounds, args.runs)}", flush=True)
        if theirs:
            print(f"FreeRADIUS: radacct rows {freeradius_rows(admin, fr_db)} "
                  f"(sessions {sessions})", flush=True)
        if reason:
            print(f"FreeRADIUS: not measured: {reason}", flush=True)
    finally:
        databases.close()
        shutil.rmtree(work, ignore_errors=True)
    simdesk_per_s, simdesk_cpu_us = (statistics.median(x) for x in zip(*ours, strict=True))
    if theirs:
        freeradius_per_s, freeradius_cpu_us = (statistics.median(x)
                                               for x in zip(*theirs, strict=True))
        fr, fr_cpu_text = f"{freeradius_per_s:.0f}", f"{freeradius_cpu_us:.0f}"
        ratio = f"{simdesk_per_s / freeradius_per_s:.2f}"
    else:
        fr = fr_cpu_text = ratio = "n/a"
    print(f"RESULT simdesk_per_s={simdesk_per_s:.0f} freeradius_per_s={fr} ratio={ratio} "
          f"lost={total_lost} simdesk_cpu_us={simdesk_cpu_us:.0f} "
          f"freeradius_cpu_us={fr_cpu_text}")


if __name__ == "__main__":
    main()
