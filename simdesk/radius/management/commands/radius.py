"""``simdesk radius``: the RADIUS accounting (UDP 1813) and authorization (UDP 1812) server.

Several workers (``--workers``) are processes of their own (own database connection)
reading from the sockets this command binds, passed down to them.
"""

import argparse
import signal
import socket
import subprocess
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from simdesk.radius.server import RadiusServer


class Command(BaseCommand):
    help = "Serve RADIUS accounting (usage) and authorization for the mobile network."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=getattr(settings, "RADIUS_HOST", "0.0.0.0"))  # noqa: S104
        parser.add_argument("--acct-port", type=int,
                            default=getattr(settings, "RADIUS_ACCT_PORT", 1813))
        parser.add_argument("--auth-port", type=int,
                            default=getattr(settings, "RADIUS_AUTH_PORT", 1812),
                            help="0 to serve accounting only")
        parser.add_argument("--batch-size", type=int, default=1024,
                            help="most accounting packets stored in one transaction")
        parser.add_argument("--batch-wait-ms", type=float, default=2.0,
                            help="how long a short batch waits for more packets")
        parser.add_argument("--workers", type=int, default=1,
                            help="processes reading from the same sockets")
        parser.add_argument("--reuse-port", action="store_true",
                            help="bind with SO_REUSEPORT, so separate commands share the ports")
        parser.add_argument("--sockets", default="", help=argparse.SUPPRESS)  # for workers

    def handle(self, *args, **options):
        workers = max(1, options["workers"])
        children = []
        shared = None
        if options["sockets"]:  # a worker: the parent's sockets, by descriptor
            fds = [int(fd) for fd in options["sockets"].split(",")]
            shared = (socket.socket(fileno=fds[0]),
                      socket.socket(fileno=fds[1]) if len(fds) > 1 else None)
        server = RadiusServer(
            host=options["host"], acct_port=options["acct_port"],
            auth_port=options["auth_port"] or None, batch_size=options["batch_size"],
            batch_wait=options["batch_wait_ms"] / 1000, reuse_port=options["reuse_port"],
            require_message_authenticator=getattr(
                settings, "RADIUS_REQUIRE_MESSAGE_AUTHENTICATOR", True),
            sockets=shared,
        )
        if workers > 1:
            fds = [server.acct.fileno()] + ([server.auth.fileno()] if server.auth else [])
            python = [sys.executable] if sys.argv[0].endswith(".py") else []
            argv = [*python, sys.argv[0], "radius", "--sockets", ",".join(map(str, fds)),
                    "--batch-size", str(options["batch_size"]),
                    "--batch-wait-ms", str(options["batch_wait_ms"])]
            for _ in range(workers - 1):
                children.append(subprocess.Popen(argv, pass_fds=fds))  # noqa: S603
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"RADIUS accounting on {options['host']}:{server.acct_port}"
                          + (f", authorization on port {server.auth_port}"
                             if server.auth_port else "")
                          + (f", {workers} workers" if workers > 1 else ""))
        self.stdout.flush()
        try:
            server.serve(stop)
        finally:
            server.close()
            for child in children:
                child.terminate()
            for child in children:
                child.wait(timeout=10)
            stats = server.stats
            self.stdout.write(f"received={stats.received} answered={stats.answered} "
                              f"dropped={stats.dropped} batches={stats.batches} "
                              f"duplicates={stats.duplicates} "
                              f"unknown_subscribers={stats.unknown_subscribers} "
                              f"decode_s={stats.decode_seconds:.2f} "
                              f"store_s={stats.store_seconds:.2f}")
