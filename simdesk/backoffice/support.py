"""Support in the back office.

The inbox: tickets by status, oldest waiting first; a ticket's page with the conversation
and the customer's cards and orders; reply (optionally resolving) and resolve. Replies go
through ``support.services.ticket_reply_staff`` (which e-mails the customer) inside
``backoffice.services.staff_ticket_reply``, with an audit entry.

Announcements: list, create, edit, with a title and text per site language (English
required), through ``backoffice.services.staff_announcement_save``.
"""

import contextlib
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from simdesk.accounts.roles import Perm
from simdesk.catalog.models import Coupon, Plan, Region
from simdesk.core.errors import NotFound, ServiceError
from simdesk.support.models import BODY_MAX_LENGTH, Announcement, Audience, TicketStatus
from simdesk.support.selectors import ticket_get_for_staff, ticket_messages, tickets_for_staff
from simdesk.support.services import ticket_body_clean
from simdesk.support.services.announcements import ANNOUNCEMENT_FIELDS

from . import selectors, services
from .access import staff_view
from .editing import DateTimeField, language_slug, show_service_error
from .views import KeyForm, _key

TICKETS_PER_PAGE = 50


class ReplyForm(KeyForm):
    body = forms.CharField(
        label=gettext_lazy("Reply to the customer"), max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": BODY_MAX_LENGTH}),
        help_text=gettext_lazy("E-mailed to the customer and shown on their ticket; the "
                               "ticket then waits for their answer."))
    resolve = forms.BooleanField(label=gettext_lazy("Mark as resolved after replying"),
                                 required=False)

    def clean_body(self) -> str:
        try:
            return ticket_body_clean(self.cleaned_data["body"])
        except ServiceError as error:
            raise ValidationError(error.message, code=error.code) from None


def _ticket(public_id):
    try:
        return ticket_get_for_staff(ticket_public_id=public_id)
    except NotFound:
        raise Http404 from None


@staff_view(Perm.TICKETS)
def ticket_list(request):
    status = request.GET.get("status", TicketStatus.OPEN)
    if status not in TicketStatus.values:
        status = TicketStatus.OPEN
    page = Paginator(tickets_for_staff(status=status), TICKETS_PER_PAGE).get_page(
        request.GET.get("page"))
    return render(request, "backoffice/support/tickets.html", {
        "page": page, "status": status, "statuses": TicketStatus.values,
        "section": "tickets",
    })


def _ticket_page(request, ticket, *, reply_form=None, status=200):
    customer = ticket.customer
    return render(request, "backoffice/support/ticket.html", {
        "ticket": ticket, "customer": customer, "section": "tickets",
        "conversation": ticket_messages(ticket=ticket).select_related("author"),
        "events": ticket.events.select_related("actor"),
        "cards": customer.cards.order_by("iccid"),
        "orders": selectors.customer_orders(customer=customer)[:20],
        "reply_form": reply_form or ReplyForm(initial={"key": _key()}),
        "resolve_form": KeyForm(initial={"key": _key()}),
        "audit": selectors.audit_about(public_id=ticket.public_id),
    }, status=status)


@staff_view(Perm.TICKETS)
def ticket_detail(request, public_id):
    return _ticket_page(request, _ticket(public_id))


@require_POST
@staff_view(Perm.TICKETS)
def ticket_reply(request, public_id):
    ticket = _ticket(public_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _ticket_page(request, ticket, reply_form=form, status=400)
    data = form.cleaned_data
    try:
        services.staff_ticket_reply(ticket=ticket, body=data["body"], resolve=data["resolve"],
                                    acting_user=request.user, key=str(data["key"]),
                                    now=timezone.now())
    except ServiceError as error:
        form.add_error(None, error.message)
        return _ticket_page(request, ticket, reply_form=form, status=error.status)
    except IntegrityError:  # the same form arrived twice at once: the other one answered
        pass
    messages.success(request, _("Your reply was sent to the customer."))
    return redirect("backoffice:ticket", ticket.public_id)


@require_POST
@staff_view(Perm.TICKETS)
def ticket_resolve(request, public_id):
    ticket = _ticket(public_id)
    form = KeyForm(request.POST)
    if not form.is_valid():
        return _ticket_page(request, ticket, status=400)
    # IntegrityError: the same form arrived twice at once and the other request resolved it.
    with contextlib.suppress(IntegrityError):
        services.staff_ticket_resolve(ticket=ticket, acting_user=request.user,
                                      key=str(form.cleaned_data["key"]), now=timezone.now())
    messages.success(request, _("The ticket is resolved."))
    return redirect("backoffice:ticket", ticket.public_id)


# --- Announcements ---------------------------------------------------------------------------

def _label(model, name):
    return model._meta.get_field(name).verbose_name


class AnnouncementForm(KeyForm):
    internal_name = forms.CharField(label=_label(Announcement, "internal_name"), max_length=100,
                                    help_text=Announcement._meta.get_field("internal_name")
                                    .help_text)
    starts_at = DateTimeField(label=_label(Announcement, "starts_at"))
    ends_at = DateTimeField(label=_label(Announcement, "ends_at"))
    audience = forms.ChoiceField(label=_label(Announcement, "audience"),
                                 choices=Audience.choices)
    region = forms.ModelChoiceField(
        label=_label(Announcement, "region"), required=False, to_field_name="code",
        queryset=Region.objects.order_by("code"),
        help_text=gettext_lazy("Only for the audience “customers with cards in a region”."))
    plan = forms.ModelChoiceField(
        label=_label(Announcement, "plan"), required=False, to_field_name="code",
        queryset=Plan.objects.order_by("code"),
        help_text=gettext_lazy("Only for the audience “customers with a given plan”."))
    coupon = forms.ModelChoiceField(
        label=_label(Announcement, "coupon"), required=False, to_field_name="code",
        queryset=Coupon.objects.order_by("code"),
        help_text=Announcement._meta.get_field("coupon").help_text)
    send_email = forms.BooleanField(label=_label(Announcement, "send_email"), required=False,
                                    help_text=Announcement._meta.get_field("send_email")
                                    .help_text)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        for name in ("starts_at", "ends_at"):
            self.fields[name].help_text = _("In your time zone (%(zone)s).") % {"zone": zone}
        for language, name in settings.LANGUAGES:
            slug = language_slug(language)
            english = language == settings.LANGUAGE_CODE
            self.fields[f"title_{slug}"] = forms.CharField(
                label=_("Title (%(language)s)") % {"language": name}, max_length=120,
                required=english)
            self.fields[f"body_{slug}"] = forms.CharField(
                label=_("Text (%(language)s)") % {"language": name}, max_length=2000,
                required=english, widget=forms.Textarea(attrs={"rows": 4}),
                help_text=(_("Required: customers whose language has no text see the "
                             "English one.") if english else
                           _("Optional: leave both empty to show the English text.")))

    def clean(self):
        data = super().clean()
        for language, _name in settings.LANGUAGES:
            slug = language_slug(language)
            title, body = data.get(f"title_{slug}"), data.get(f"body_{slug}")
            if title and not body and f"body_{slug}" not in self.errors:
                self.add_error(f"body_{slug}", _("Write the text for this title, or clear "
                                                 "the title."))
            if body and not title and f"title_{slug}" not in self.errors:
                self.add_error(f"title_{slug}", _("Write a title for this text, or clear "
                                                  "the text."))
        return data

    def texts(self) -> dict[str, tuple[str, str]]:
        texts = {}
        for language, _name in settings.LANGUAGES:
            slug = language_slug(language)
            title = self.cleaned_data.get(f"title_{slug}", "").strip()
            body = self.cleaned_data.get(f"body_{slug}", "").strip()
            if title and body:
                texts[language] = (title, body)
        return texts

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in ANNOUNCEMENT_FIELDS}

    @staticmethod
    def initial_for(announcement: Announcement) -> dict:
        initial = {name: getattr(announcement, name) for name in ANNOUNCEMENT_FIELDS}
        for field in ("region", "plan", "coupon"):
            related = initial[field]
            initial[field] = related.code if related is not None else None
        for row in announcement.translations.all():
            slug = language_slug(row.language)
            initial[f"title_{slug}"] = row.title
            initial[f"body_{slug}"] = row.body
        return initial


def _announcement_field(name: str) -> str:
    """``texts.zh-hans.title`` (a service error's field) → ``title_zh_hans``."""
    if name.startswith("texts."):
        parts = name.split(".")
        language = parts[1] if len(parts) > 1 else settings.LANGUAGE_CODE
        kind = parts[2] if len(parts) > 2 else "title"
        return f"{kind}_{language_slug(language)}"
    return name


def _announcement(public_id) -> Announcement:
    announcement = (Announcement.objects.select_related("region", "plan", "coupon")
                    .prefetch_related("translations").filter(public_id=public_id).first())
    if announcement is None:
        raise Http404
    return announcement


@staff_view(Perm.ANNOUNCEMENTS)
def announcement_list(request):
    announcements = (Announcement.objects.select_related("region", "plan", "coupon")
                     .prefetch_related("translations").order_by("-starts_at", "-id"))
    page = Paginator(announcements, 50).get_page(request.GET.get("page"))
    for announcement in page.object_list:
        announcement.english = announcement.translation_for(settings.LANGUAGE_CODE)
    return render(request, "backoffice/support/announcements.html", {
        "page": page, "now": timezone.now(), "section": "announcements"})


def _announcement_form_page(request, form, *, announcement=None, status=200):
    return render(request, "backoffice/support/announcement_form.html", {
        "form": form, "announcement": announcement, "section": "announcements",
        "audit": (selectors.audit_about(public_id=announcement.public_id)
                  if announcement else None),
    }, status=status)


def _announcement_save(request, announcement):
    form = AnnouncementForm(request.POST)
    if form.is_valid():
        try:
            saved = services.staff_announcement_save(
                announcement=announcement, fields=form.values(), texts=form.texts(),
                acting_user=request.user, key=str(form.cleaned_data["key"]),
                now=timezone.now())
        except ServiceError as error:
            show_service_error(form, error, _announcement_field)
        except IntegrityError:  # the same form arrived twice at once
            messages.info(request, _("That was already done."))
            return redirect("backoffice:announcements")
        else:
            messages.success(request, _("The announcement is saved."))
            return redirect("backoffice:announcement_edit", saved.public_id)
    return _announcement_form_page(request, form, announcement=announcement, status=400)


@staff_view(Perm.ANNOUNCEMENTS)
def announcement_new(request):
    if request.method == "POST":
        return _announcement_save(request, None)
    now = timezone.now().replace(second=0, microsecond=0)
    form = AnnouncementForm(initial={"key": _key(), "starts_at": now,
                                     "ends_at": now + timedelta(days=7)})
    return _announcement_form_page(request, form)


@staff_view(Perm.ANNOUNCEMENTS)
def announcement_edit(request, public_id):
    announcement = _announcement(public_id)
    if request.method == "POST":
        return _announcement_save(request, announcement)
    form = AnnouncementForm(initial={"key": _key(), **AnnouncementForm.initial_for(announcement)})
    return _announcement_form_page(request, form, announcement=announcement)
