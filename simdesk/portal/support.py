"""Support on the portal: the customer's tickets, a new ticket, one ticket's conversation with
a reply form, and dismissing an announcement. Plain forms with POST and redirect: no
JavaScript needed.

Ownership comes from ``ticket_get_for_customer`` (another customer's ticket is a 404);
the rules (lengths, statuses, e-mails) live in ``simdesk.support.services``.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from simdesk.cards.selectors import card_get_for_customer, cards_for_customer
from simdesk.core.errors import NotFound, ServiceError
from simdesk.orders.selectors import order_get_for_customer, orders_for_customer
from simdesk.support.models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, Ticket, TicketStatus
from simdesk.support.selectors import (
    announcement_get_live,
    ticket_get_for_customer,
    ticket_messages,
    tickets_for_customer,
)
from simdesk.support.services import (
    announcement_dismiss,
    ticket_body_clean,
    ticket_message_add,
    ticket_open,
    ticket_resolve,
    ticket_subject_clean,
)

ORDERS_OFFERED = 20  # the "about" list offers the latest orders, not a whole history


def _service_clean(function, value):
    """Run one of the services' input rules as a form field's validation."""
    try:
        return function(value)
    except ServiceError as error:
        raise ValidationError(str(error), code=error.code) from error


# Translated when shown, not when this module is imported.
_up_to_characters = lazy(lambda: _("Up to %(max)d characters.") % {"max": BODY_MAX_LENGTH}, str)


def _body_field(label):
    # Not required at the form level: the service's rule says what is wrong, in one place.
    return forms.CharField(
        label=label, required=False, strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": BODY_MAX_LENGTH}),
        help_text=_up_to_characters(),
    )


class TicketOpenForm(forms.Form):
    subject = forms.CharField(
        label=gettext_lazy("Subject"), required=False,
        widget=forms.TextInput(attrs={"maxlength": SUBJECT_MAX_LENGTH}),
    )
    about = forms.ChoiceField(label=gettext_lazy("About"), required=False)
    body = _body_field(gettext_lazy("Your message"))

    def __init__(self, *args, customer, language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        choices = [("", _("Nothing in particular"))]
        cards = [(f"card:{card.public_id}",
                  card.label or _("Card ending in %(digits)s") % {"digits": card.iccid[-4:]})
                 for card in cards_for_customer(customer=customer)]
        if cards:
            choices.append((_("Cards"), cards))
        orders = [(f"order:{order.public_id}",
                   _("%(plan)s, ordered %(date)s") % {
                       "plan": order.plan.name_for(language) or order.plan_name,
                       "date": timezone.localtime(order.created_at).strftime("%Y-%m-%d")})
                  for order in orders_for_customer(customer=customer)[:ORDERS_OFFERED]]
        if orders:
            choices.append((_("Orders"), orders))
        self.fields["about"].choices = choices

    def clean_subject(self) -> str:
        return _service_clean(ticket_subject_clean, self.cleaned_data.get("subject"))

    def clean_body(self) -> str:
        return _service_clean(ticket_body_clean, self.cleaned_data.get("body"))

    def clean_about(self):
        """(card, order): at most one of them, and only the customer's own."""
        kind, _sep, key = (self.cleaned_data.get("about") or "").partition(":")
        try:
            if kind == "card":
                return card_get_for_customer(customer=self.customer, card_public_id=key), None
            if kind == "order":
                return None, order_get_for_customer(customer=self.customer,
                                                    order_public_id=key)
        except NotFound as error:
            raise ValidationError(str(error), code=error.code) from error
        return None, None


class TicketReplyForm(forms.Form):
    body = _body_field(gettext_lazy("Your reply"))

    def clean_body(self) -> str:
        return _service_clean(ticket_body_clean, self.cleaned_data.get("body"))


def _ticket_or_404(request, public_id) -> Ticket:
    try:
        return ticket_get_for_customer(customer=request.user, ticket_public_id=public_id)
    except NotFound as error:
        raise Http404(str(error)) from error


@login_required
def ticket_list(request):
    return render(request, "portal/support/list.html",
                  {"tickets": tickets_for_customer(customer=request.user)})


@login_required
def ticket_new(request):
    status = 200
    if request.method == "POST":
        form = TicketOpenForm(request.POST, customer=request.user,
                              language=request.LANGUAGE_CODE)
        if form.is_valid():
            card, order = form.cleaned_data["about"]
            try:
                ticket = ticket_open(customer=request.user, subject=form.cleaned_data["subject"],
                                     body=form.cleaned_data["body"], card=card, order=order,
                                     now=timezone.now())
            except ServiceError as error:
                form.add_error(None, ValidationError(str(error), code=error.code))
            else:
                messages.success(request, _("Your request was sent. We will answer here and "
                                            "by e-mail."))
                return redirect("portal:support_ticket", public_id=ticket.public_id)
        status = 400
    else:
        # "Contact support" links from a card or order page say what it is about.
        initial = {}
        for kind in ("card", "order"):
            if request.GET.get(kind):
                initial["about"] = f"{kind}:{request.GET[kind]}"
        form = TicketOpenForm(initial=initial, customer=request.user,
                              language=request.LANGUAGE_CODE)
    return render(request, "portal/support/new.html", {"form": form}, status=status)


def _detail(request, ticket: Ticket, *, form=None, status=200):
    return render(request, "portal/support/detail.html", {
        "ticket": ticket,
        "conversation": ticket_messages(ticket=ticket).select_related("author"),
        "form": form or TicketReplyForm(),
        "resolved": ticket.status == TicketStatus.RESOLVED,
        "order_name": (ticket.order.plan.name_for(request.LANGUAGE_CODE) or ticket.order.plan_name)
        if ticket.order else "",
    }, status=status)


@login_required
def ticket_detail(request, public_id):
    return _detail(request, _ticket_or_404(request, public_id))


@login_required
@require_POST
def ticket_reply(request, public_id):
    ticket = _ticket_or_404(request, public_id)
    form = TicketReplyForm(request.POST)
    if form.is_valid():
        try:
            ticket_message_add(ticket=ticket, author=request.user, body=form.cleaned_data["body"],
                               now=timezone.now())
        except ServiceError as error:
            form.add_error("body", ValidationError(str(error), code=error.code))
        else:
            messages.success(request, _("Your message was sent."))
            return redirect("portal:support_ticket", public_id=ticket.public_id)
    return _detail(request, ticket, form=form, status=400)


@login_required
@require_POST
def ticket_close(request, public_id):
    """The customer says their question is answered."""
    ticket = _ticket_or_404(request, public_id)
    ticket_resolve(ticket=ticket, actor=request.user, now=timezone.now(), note="customer")
    messages.success(request, _("Marked as solved. Write again any time to reopen it."))
    return redirect("portal:support_ticket", public_id=ticket.public_id)


@login_required
@require_POST
def announcement_hide(request, public_id):
    """"Dismiss" on an announcement: hidden for this customer, back to the page it was on."""
    # A path on this site only. Always an address, never a view name: redirect("x")
    # would look "x" up as one, and a value that is none was a server error.
    target = request.POST.get("next", "")
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("portal:home")
    try:
        announcement = announcement_get_live(announcement_public_id=public_id,
                                             now=timezone.now())
    except NotFound:
        return HttpResponseRedirect(target)  # already over: nothing left to hide
    announcement_dismiss(announcement=announcement, customer=request.user, now=timezone.now())
    return HttpResponseRedirect(target)
