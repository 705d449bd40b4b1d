"""Settings → Your data: download everything we hold about you, or delete your account.

Both actions ask for the password again in the same form (allauth's
reauthentication form, so wrong passwords count towards the sign-in limits like
any other): a session left open on a shared phone is not enough to take the data
away or to close the account.
"""

from allauth.account.forms import ReauthenticateForm
from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from simdesk.core.clock import utcnow
from simdesk.core.errors import ServiceError
from simdesk.privacy.deletion import customer_delete, customer_deletion_blockers
from simdesk.privacy.export import customer_data_export

CHUNK = 64 * 1024


class DownloadForm(ReauthenticateForm):
    """The password, checked by allauth's adapter."""


class DeleteForm(ReauthenticateForm):
    confirm_email = forms.CharField(
        label=_("Type your e-mail address to confirm"), max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                      "spellcheck": "false"}),
        help_text=_("This cannot be undone."))

    def clean_confirm_email(self):
        typed = self.cleaned_data["confirm_email"].strip()
        if typed.lower() != self.user.email.lower():
            raise forms.ValidationError(
                _("That is not your account's e-mail address. Type it exactly as you sign "
                  "in with it."))
        return typed


def _page(request, *, download=None, delete=None, status=200):
    return render(request, "portal/your_data.html", {
        "download_form": download or DownloadForm(user=request.user, prefix="download"),
        "delete_form": delete or DeleteForm(user=request.user, prefix="delete"),
        "blockers": customer_deletion_blockers(customer=request.user, now=utcnow()),
    }, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD"])
def your_data(request):
    return _page(request)


def _chunks(data):
    buffer = []
    size = 0
    for piece in DjangoJSONEncoder(indent=2, ensure_ascii=False).iterencode(data):
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    buffer.append("\n")
    yield "".join(buffer).encode()


@never_cache
@require_POST
@login_required
def your_data_download(request):
    form = DownloadForm(request.POST, user=request.user, prefix="download")
    if not form.is_valid():
        return _page(request, download=form, status=400)
    now = utcnow()
    # Read everything before the first byte goes out: the file is one consistent
    # picture, and no query runs while the response streams.
    data = customer_data_export(customer=request.user, now=now)
    day = now.astimezone(request.user.zone).date().isoformat()
    filename = f"{slugify(settings.SITE_NAME) or 'simdesk'}-my-data-{day}.json"
    response = StreamingHttpResponse(_chunks(data),
                                     content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@never_cache
@require_POST
@login_required
def account_delete(request):
    form = DeleteForm(request.POST, user=request.user, prefix="delete")
    if not form.is_valid():
        return _page(request, delete=form, status=400)
    try:
        customer_delete(customer=request.user, now=utcnow())
    except ServiceError as error:
        form.add_error(None, error.message)
        return _page(request, delete=form, status=409 if error.status == 409 else 400)
    logout(request)
    return redirect("portal:account_deleted")


@require_http_methods(["GET", "HEAD"])
def account_deleted(request):
    return render(request, "portal/account_deleted.html")

