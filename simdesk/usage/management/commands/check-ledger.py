import sys

from django.core.management.base import BaseCommand

from simdesk.cards.ledger_check import ledger_violations
from simdesk.cards.models import Card, LedgerEntry, Period
from simdesk.usage.ledger_check import usage_violations
from simdesk.usage.models import Record
from simdesk.usage.selectors import usage_rated_through


class Command(BaseCommand):
    help = ("Check the data ledger: for every period credits − debits = remaining, no balance "
            "below zero, every usage record applied once. Exit code 1 on any violation.")

    def handle(self, *args, **options):
        violations = 0
        for violation in (*ledger_violations(), *usage_violations()):
            violations += 1
            self.stdout.write(f"VIOLATION {violation}")
        summary = (f"{Card.objects.count()} cards, {Period.objects.count()} periods, "
                   f"{LedgerEntry.objects.count()} ledger rows, {Record.objects.count()} usage "
                   f"records checked")
        waiting = Record.objects.filter(pk__gt=usage_rated_through()).count()
        if waiting:
            summary += f" ({waiting} records still waiting to be rated)"
        if violations:
            self.stdout.write(f"{summary}: {violations} violations.")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"{summary}: the ledger is consistent."))
