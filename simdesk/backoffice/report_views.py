"""The dashboard, the card inventory import and the orders export for accounting.

Thin views: the figures come from ``backoffice.dashboard``, the import and the export
from ``backoffice.inventory``. Dates typed by staff are days in their own time zone.
"""

import uuid
from datetime import date, timedelta

from django import forms
from django.db import IntegrityError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from simdesk.accounts.roles import Perm
from simdesk.cards.models import CardState
from simdesk.core.charts import series_chart_svg
from simdesk.core.errors import ServiceError
from simdesk.core.money import Money
from simdesk.core.units import format_bytes
from simdesk.support.models import TicketStatus

from . import dashboard, inventory
from .access import staff_view

# Far enough apart for any real question, near enough that a day's neighbours exist.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2999, 12, 31)


class DayRangeForm(forms.Form):
    """``from`` and ``to``, both days included, at most MAX_DAYS days; both optional
    (then the last 30 days up to today)."""

    def __init__(self, data, *, today: date):
        super().__init__(data)
        self.today = today
        # "from" is a Python keyword: these fields are named in the dict, not as attributes.
        self.fields["from"] = forms.DateField(
            label=gettext_lazy("From"), required=False,
            widget=forms.DateInput(attrs={"type": "date"}))
        self.fields["to"] = forms.DateField(
            label=gettext_lazy("To"), required=False,
            widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        for name in ("from", "to"):
            day = data.get(name)
            if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
                self.add_error(name, forms.ValidationError(
                    _("Choose a day between %(first)s and %(last)s.")
                    % {"first": EARLIEST_DAY, "last": LATEST_DAY}, code="out_of_range"))
        if self.errors:
            return data
        until = data.get("to") or self.today
        since = data.get("from") or until - timedelta(days=dashboard.DEFAULT_DAYS - 1)
        if since > until:
            raise forms.ValidationError(_("The first day comes after the last day."),
                                        code="reversed")
        if (until - since).days + 1 > dashboard.MAX_DAYS:
            raise forms.ValidationError(
                _("Choose at most %(days)d days.") % {"days": dashboard.MAX_DAYS},
                code="too_long")
        data["from"], data["to"] = since, until
        return data


def _day_range(request) -> tuple[DayRangeForm, dashboard.DayRange | None]:
    zone = request.user.zone
    form = DayRangeForm({"from": request.GET.get("from", "")[:40],
                         "to": request.GET.get("to", "")[:40]},
                        today=timezone.now().astimezone(zone).date())
    if not form.is_valid():
        return form, None
    return form, dashboard.DayRange(first=form.cleaned_data["from"],
                                    last=form.cleaned_data["to"], zone=zone)


def _table(days, series):
    """Rows for the table beside a chart: the day, then each series' value."""
    return [(day, [values[index] for _label, values in series])
            for index, day in enumerate(days)]


# The ticket statuses as staff say them (the model's labels speak to the customer).
TICKET_LABELS = {
    TicketStatus.OPEN: gettext_lazy("Open, waiting for staff"),
    TicketStatus.WAITING_ON_CUSTOMER: gettext_lazy("Waiting for the customer"),
    TicketStatus.RESOLVED: gettext_lazy("Resolved"),
}


@staff_view(Perm.DASHBOARD)
def dashboard_page(request):
    form, days = _day_range(request)
    context = {"form": form, "section": "dashboard"}
    if days is None:
        return render(request, "backoffice/dashboard.html", context, status=400)
    language = request.LANGUAGE_CODE
    charts = []

    def chart(key, title, series, fmt, *, totals=True):
        charts.append({
            "id": key, "title": title, "labels": [label for label, _values in series],
            "svg": series_chart_svg(days.days, series, fmt=fmt, chart_id=f"chart-{key}",
                                    title=title),
            "rows": _table(days.days, series), "fmt": fmt,
            "totals": [sum(values) for _label, values in series] if totals else None,
        })

    for currency, values in dashboard.dashboard_revenue(days=days).items():
        def money(value, currency=currency):
            return Money(int(value), currency).format(language)
        chart(f"revenue-{currency.lower()}",
              _("Takings per day in %(currency)s") % {"currency": currency},
              [(currency, values)], money)
    orders = dashboard.dashboard_orders(days=days)
    chart("orders", _("Orders per day"),
          [(_("Paid"), orders["paid"]), (_("Failed or expired"), orders["failed"])], str)
    renewals = dashboard.dashboard_renewals(days=days)
    chart("renewals", _("Renewal charges per day"),
          [(_("Renewed"), renewals["succeeded"]), (_("Declined"), renewals["failed"])], str)
    chart("data", _("Data used per day, all cards"),
          [(_("Data used"), dashboard.dashboard_data_used(days=days))],
          lambda value: format_bytes(value, language))
    for item in charts:
        # The table shows the figures as the chart's formatter writes them.
        item["rows"] = [(day, [item["fmt"](value) for value in values])
                        for day, values in item["rows"]]
        if item["totals"] is not None:
            item["totals"] = [item["fmt"](value) for value in item["totals"]]
    plans = [{"code": plan.code, "name": plan.name, "orders": plan.orders,
              "revenue": [Money(amount, currency).format(language)
                          for currency, amount in plan.revenue.items()]}
             for plan in dashboard.dashboard_top_plans(days=days)]
    context.update({
        "days": days, "charts": charts, "has_revenue": any(
            item["id"].startswith("revenue-") for item in charts),
        "plans": plans,
        "cards": [(CardState(state).label, n)
                  for state, n in dashboard.dashboard_cards_now().items()],
        "tickets": [(TICKET_LABELS.get(status, status), n)
                    for status, n in dashboard.dashboard_tickets_now().items()],
    })
    return render(request, "backoffice/dashboard.html", context)


class ImportForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput)
    file = forms.FileField(label=gettext_lazy("CSV file"), help_text=gettext_lazy(
        "A header row naming iccid and claim_code (also activation_code, imsi, msisdn, eid "
        "when you have them); UTF-8; at most 5 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > inventory.MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 5 MB. Split it and upload the parts."),
                code="too_large")
        name = (upload.name or "").lower()
        if not name.endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Upload a CSV file (a name ending in .csv)."),
                                        code="not_csv")
        return upload


@staff_view(Perm.INVENTORY)
def inventory_import(request):
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                summary = inventory.staff_cards_import(
                    data=upload.read(), file_name=upload.name, acting_user=request.user,
                    key=str(form.cleaned_data["key"]), now=timezone.now())
            except ServiceError as error:
                form.add_error("file", error.message)
            except IntegrityError:
                # The same form arrived twice at once: the other request imported it.
                return redirect("backoffice:inventory_import")
            else:
                return redirect("backoffice:inventory_import_result", summary.public_id)
        status = 400
    else:
        form = ImportForm(initial={"key": uuid.uuid4()})
        status = 200
    return render(request, "backoffice/inventory_import.html", {
        "form": form, "section": "inventory",
        "imports": inventory.recent_card_imports(),
    }, status=status)


@staff_view(Perm.INVENTORY)
def inventory_import_result(request, public_id):
    summary, errors = inventory.card_import_get(public_id=public_id)
    return render(request, "backoffice/inventory_result.html", {
        "summary": summary, "errors": errors[:200], "section": "inventory",
        "form": ImportForm(initial={"key": uuid.uuid4()}),
    })


@staff_view(Perm.INVENTORY)
def inventory_import_errors(request, public_id):
    summary, errors = inventory.card_import_get(public_id=public_id)
    response = StreamingHttpResponse(inventory.import_error_rows(errors),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="card-import-{summary.public_id}-errors.csv"')
    return response


@staff_view(Perm.INVENTORY)
def orders_export(request):
    form, days = _day_range(request)
    if days is None:
        problems = [str(error) for errors in form.errors.values() for error in errors]
        return HttpResponse(
            _("Cannot export: %(problems)s Give from and to as YYYY-MM-DD.")
            % {"problems": " ".join(problems)},
            status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(
        inventory.order_export_rows(since=days.start, until=days.end),
        content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="simdesk-orders-{days.first}-{days.last}.csv"')
    return response
