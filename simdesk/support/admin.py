"""Support in Django's admin (superusers only; staff use the back office's support inbox and
announcements editor): a ticket's page shows the conversation and can answer or resolve it
through the same services the back office calls; announcements can be written here too."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from simdesk.core.clock import utcnow
from simdesk.core.errors import ServiceError

from .models import (
    BODY_MAX_LENGTH,
    Announcement,
    AnnouncementTranslation,
    Ticket,
    TicketStatus,
)
from .services import ticket_body_clean, ticket_reply_staff, ticket_resolve


class TicketReplyForm(forms.ModelForm):
    """The ticket's page: everything is read-only except the answer to send."""

    reply = forms.CharField(
        label=_("Reply to the customer"), required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "maxlength": BODY_MAX_LENGTH}),
        help_text=_("Sent to the customer by e-mail and shown on their ticket; the ticket "
                    "then waits for their answer."),
    )
    resolve = forms.BooleanField(
        label=_("Mark as resolved"), required=False,
        help_text=_("After sending the reply, if any. The customer can still write again, "
                    "which reopens the ticket."),
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def clean_reply(self) -> str:
        body = self.cleaned_data.get("reply") or ""
        if not body.strip():
            return ""
        try:
            return ticket_body_clean(body)
        except ServiceError as error:
            raise ValidationError(str(error), code=error.code) from error


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketReplyForm
    list_display = ("subject", "customer", "status", "last_message_at", "created_at")
    list_filter = ("status",)
    search_fields = ("public_id", "subject", "customer__email", "card__iccid")
    list_select_related = ("customer",)
    date_hierarchy = "created_at"
    readonly_fields = ("public_id", "customer", "subject", "status", "card", "order",
                       "created_at", "last_message_at", "waiting_since", "resolved_at",
                       "conversation", "history")
    fieldsets = (
        (None, {"fields": ("subject", "customer", "status", "card", "order", "public_id",
                           "created_at", "last_message_at", "waiting_since", "resolved_at")}),
        (_("Conversation"), {"fields": ("conversation", "reply", "resolve")}),
        (_("Status history"), {"fields": ("history",)}),
    )
    actions = ["resolve_selected"]

    def has_add_permission(self, request):
        return False  # customers open tickets; staff answer them

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Conversation"))
    def conversation(self, obj: Ticket) -> str:
        if obj is None or obj.pk is None:
            return ""
        rows = format_html_join(
            "", '<div class="ticket-message" style="margin:0 0 12px;padding:8px 12px;'
                'border-left:3px solid {};"><p style="margin:0 0 4px;"><strong>{}</strong> · {}'
                '</p><div>{}</div></div>',
            ((("#0f766e" if m.from_staff else "#9aa5b1"),
              _("Support") if m.from_staff else (m.author.email if m.author else "—"),
              m.at.strftime("%Y-%m-%d %H:%M UTC"),
              linebreaksbr(m.body, autoescape=True))
             for m in obj.messages.select_related("author").order_by("at", "id")),
        )
        return format_html('<div class="ticket-conversation">{}</div>', rows)

    @admin.display(description=_("Status history"))
    def history(self, obj: Ticket) -> str:
        if obj is None or obj.pk is None:
            return ""
        rows = format_html_join(
            "", "<li>{} · {} → {} · {} {}</li>",
            ((e.at.strftime("%Y-%m-%d %H:%M UTC"), e.from_status or "—", e.to_status,
              e.actor.email if e.actor else _("the clock"), e.note)
             for e in obj.events.select_related("actor").order_by("at", "id")),
        )
        return format_html("<ol>{}</ol>", rows)

    def save_model(self, request, obj, form, change):
        # Nothing on the ticket itself is edited here: the reply and the resolution go
        # through the services, which move the status and e-mail the customer.
        now = utcnow()
        body = form.cleaned_data.get("reply")
        if body:
            ticket_reply_staff(ticket=obj, author=request.user, body=body, now=now)
            self.message_user(request, _("Your reply was sent to the customer."),
                              messages.SUCCESS)
        if form.cleaned_data.get("resolve"):
            ticket_resolve(ticket=obj, actor=request.user, now=now, note="staff")

    @admin.action(description=_("Mark the selected tickets resolved"), permissions=["change"])
    def resolve_selected(self, request, queryset):
        now = utcnow()
        count = 0
        for ticket in queryset.exclude(status=TicketStatus.RESOLVED):
            ticket_resolve(ticket=ticket, actor=request.user, now=now, note="staff")
            count += 1
        self.message_user(request, ngettext("%(count)d ticket resolved.",
                                            "%(count)d tickets resolved.", count)
                          % {"count": count}, messages.SUCCESS)


# --- Announcements ---------------------------------------------------------------------------

class AnnouncementTranslationForm(forms.ModelForm):
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)

    class Meta:
        model = AnnouncementTranslation
        fields = ["language", "title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4, "cols": 80})}


class AnnouncementTranslationFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        languages = [form.cleaned_data.get("language") for form in self.forms
                     if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        if settings.LANGUAGE_CODE not in languages:
            raise ValidationError(_("Write the announcement in English at least: customers "
                                    "whose language has no text see the English one."))
        if len(languages) != len(set(languages)):
            raise ValidationError(_("Write each language only once."))


class AnnouncementTranslationInline(admin.StackedInline):
    model = AnnouncementTranslation
    form = AnnouncementTranslationForm
    formset = AnnouncementTranslationFormSet
    min_num = 1

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ("internal_name", "title", "audience", "starts_at", "ends_at", "coupon",
                    "send_email", "emailed_at")
    list_filter = ("audience", "send_email")
    search_fields = ("internal_name", "translations__title")
    readonly_fields = ("emailed_at", "public_id")
    fields = ("internal_name", "starts_at", "ends_at", "audience", "region", "plan", "coupon",
              "send_email", "emailed_at", "public_id")
    inlines = [AnnouncementTranslationInline]

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is None or obj.pk is None:  # a new announcement offers English and Chinese
            kwargs["initial"] = [{"language": code} for code in ("en", "zh-hans")]
        return kwargs

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("translations")

    @admin.display(description=_("title"))
    def title(self, obj: Announcement) -> str:
        row = obj.translation_for(settings.LANGUAGE_CODE)
        return Truncator(row.title).chars(60) if row else ""
