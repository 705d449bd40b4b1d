"""Pausing a card and resuming it, from the card's page: a confirmation page (GET) that
says what a pause does, and its form (POST) that calls the service.

Views stay thin: ownership comes from ``card_get_for_customer`` (another customer's
card is 404), the rules and refusals from cards/services/pause.py.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from simdesk.cards.selectors import card_balance, card_get_for_customer, card_pause_status
from simdesk.cards.services import card_pause, card_unpause
from simdesk.core.errors import NotFound, ServiceError

from .cards import ICCID_TAIL


def _own_card(request, public_id):
    try:
        return card_get_for_customer(customer=request.user, card_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error


def _confirm(request, card, *, action: str):
    now = timezone.now()
    status = card_pause_status(card=card, now=now)
    return render(request, "portal/cards/pause_confirm.html", {
        "card": card, "tail": card.iccid[-ICCID_TAIL:], "status": status, "action": action,
        "resumes_at": now + status.pause_left,
        # For a paused card: where resuming now puts the end.
        "valid_until": card_balance(card=card, now=now).valid_until,
    })


@login_required
def card_pause_confirm(request, public_id):
    card = _own_card(request, public_id)
    if request.method != "POST":
        return _confirm(request, card, action="pause")
    try:
        card = card_pause(card=card, acting_user=request.user, now=timezone.now())
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The card is paused. It carries no data until you resume "
                                    "it, and the paused time will be added to the end of your "
                                    "plan."))
    return redirect("portal:card_detail", public_id=card.public_id)


@login_required
def card_resume_confirm(request, public_id):
    card = _own_card(request, public_id)
    if request.method != "POST":
        return _confirm(request, card, action="resume")
    try:
        card = card_unpause(card=card, acting_user=request.user, now=timezone.now())
    except ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The card is active again. The paused time was added to "
                                    "the end of your plan."))
    return redirect("portal:card_detail", public_id=card.public_id)
