"""Payment gateways in the back office: which are live, in test mode or off, and why.

For each gateway simdesk knows: its label, its state (live: real money; test: the
vendor's test environment; off: not listed in PAYMENT_GATEWAYS, not installed, or
its keys are not set), whether renewals can charge methods it saves, the webhook
address to register at the vendor, and the names of the settings still missing.
Settings are named, never shown: their values are secrets.
"""

from django.shortcuts import render

from simdesk.accounts.roles import Perm
from simdesk.payments.gateways import gateway_states

from .access import staff_view


@staff_view(Perm.PAYMENTS)
def gateway_list(request):
    return render(request, "backoffice/billing/gateways.html", {
        "gateways": gateway_states(), "section": "gateways",
    })
