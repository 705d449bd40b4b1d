"""Fault trials at full count: SIGKILL of the web server, the worker or the RADIUS
server at a random moment of each trial, under orders, renewals and usage (PostgreSQL).

Run from the project root:
    .venv/bin/python scripts/fault_trials.py [--trials 50] [--seed N] [--db-restarts 1]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

A database of its own is created on that server for the run and dropped after it,
named after the one ``--database-url`` names (``…/simdesk_ci``: ``simdesk_ci_<random>``;
``…/postgres``: ``simdesk_faults_<random>``). Each trial prints what was killed when;
the last line is ``RESULT trials=… killed_web=… killed_worker=… killed_radius=… lost=…
duplicates=… ledger_violations=…``. Then ``--db-restarts`` times: a private PostgreSQL server
(initdb into a temporary directory, its own port) restarted in the middle of a trial's
load, with web, worker, clock and RADIUS left to recover by themselves (``RESTART …``
lines). Exit status 1 when anything was lost or doubled. The trials are
described in tests/faults/trials.py; CI runs a few of them (tests/faults/).
"""

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.trials import (  # noqa: E402
    database_restart_trial,
    fault_trials,
    result_line,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-restarts", type=int, default=1)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    with tempfile.TemporaryDirectory(prefix="simdesk-faults-") as work:
        result = fault_trials(trials=args.trials, seed=seed, database_url=args.database_url,
                              work=Path(work), say=lambda line: print(line, flush=True))
    failed = bool(result["lost"] or result["duplicates"] or result["ledger_violations"])
    for n in range(args.db_restarts):
        with tempfile.TemporaryDirectory(prefix="simdesk-faults-") as work:
            restart = database_restart_trial(seed=seed + n, work=Path(work),
                                             say=lambda line: print("RESTART " + line,
                                                                    flush=True))
        failed |= bool(restart["lost"] or restart["duplicates"]
                       or restart["ledger_violations"] or restart["pending_next_trial"])
    print(json.dumps(result["details"]))
    print(result_line(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
