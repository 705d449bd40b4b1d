"""The sandbox's hosted pay page: what a customer sees at the vendor, without JavaScript.

The opaque charge id in the address is the only key (like a vendor's checkout
session); the forms carry Django's CSRF token.
"""

from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from simdesk.core.clock import utcnow
from simdesk.core.errors import Conflict
from simdesk.core.money import Money

from .cards import TEST_CARDS, test_card_find
from .models import SANDBOX_FINAL, SandboxCharge, SandboxChargeStatus
from .services import (
    sandbox_charge_authenticate,
    sandbox_charge_cancel,
    sandbox_charge_decline,
    sandbox_charge_pay,
)


def _after(charge: SandboxCharge) -> HttpResponseRedirect:
    if charge.status == SandboxChargeStatus.REQUIRES_AUTHENTICATION:
        return HttpResponseRedirect(reverse("sandbox:authenticate",
                                            kwargs={"charge_id": charge.public_id}))
    if charge.status in SANDBOX_FINAL and charge.return_url:
        return HttpResponseRedirect(charge.return_url)
    return HttpResponseRedirect(reverse("sandbox:pay", kwargs={"charge_id": charge.public_id}))


def _context(charge: SandboxCharge, **extra) -> dict:
    return {"charge": charge, "amount": Money(charge.amount_minor, charge.currency),
            "test_cards": TEST_CARDS, "finished": charge.status in SANDBOX_FINAL, **extra}


@require_http_methods(["GET", "POST"])
def pay_page(request, charge_id):
    charge = get_object_or_404(SandboxCharge, public_id=charge_id)
    if request.method == "GET":
        if charge.status == SandboxChargeStatus.REQUIRES_AUTHENTICATION:
            return _after(charge)
        return render(request, "sandbox/pay.html", _context(charge))
    action = request.POST.get("action")
    now = utcnow()
    if charge.off_session:
        action = None  # a charge made without the customer has nothing to choose
    try:
        if action == "pay":
            number = request.POST.get("card_number", "")[:40]
            card = test_card_find(number)
            if card is None:
                return render(request, "sandbox/pay.html", _context(
                    charge, card_number=number,
                    card_error=_("Enter one of the test card numbers listed below.")),
                    status=400)
            charge = sandbox_charge_pay(charge=charge, card=card, now=now)
        elif action == "decline":
            charge = sandbox_charge_decline(charge=charge, now=now)
        elif action == "cancel":
            charge = sandbox_charge_cancel(charge=charge, now=now)
        else:
            return render(request, "sandbox/pay.html", _context(
                charge, card_error=_("Choose Pay, Decline or Cancel.")), status=400)
    except Conflict:
        charge.refresh_from_db()
    return _after(charge)


@require_http_methods(["GET", "POST"])
def authenticate_page(request, charge_id):
    charge = get_object_or_404(SandboxCharge, public_id=charge_id)
    if charge.status != SandboxChargeStatus.REQUIRES_AUTHENTICATION:
        return _after(charge)
    if request.method == "GET":
        return render(request, "sandbox/authenticate.html", _context(charge))
    action = request.POST.get("action")
    if action not in ("confirm", "fail"):
        return render(request, "sandbox/authenticate.html", _context(
            charge, card_error=_("Choose Confirm or Fail authentication.")), status=400)
    try:
        charge = sandbox_charge_authenticate(charge=charge, approve=action == "confirm",
                                             now=utcnow())
    except Conflict:
        charge.refresh_from_db()
    return _after(charge)
