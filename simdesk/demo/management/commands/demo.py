from django.core.management.base import BaseCommand
from django.db import transaction

from simdesk.cards.demo import INVENTORY
from simdesk.core.clock import utcnow
from simdesk.demo import data


class Command(BaseCommand):
    help = "Load the demo customer, staff user and sample data (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            data.demo_load(now=utcnow())
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        self.stdout.write(f"  customer: {data.DEMO_CUSTOMER_EMAIL} / {data.DEMO_CUSTOMER_PASSWORD}")
        self.stdout.write(f"  staff:    {data.DEMO_STAFF_EMAIL} / {data.DEMO_STAFF_PASSWORD}"
                          "  (back office at /admin/)")
        self.stdout.write("  unclaimed cards to add in the portal (ICCID / claim code):")
        for card in INVENTORY:
            self.stdout.write(f"    {card.iccid} / {card.claim_code}")
