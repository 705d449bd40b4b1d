"""Account settings → API access tokens: list, create (shown once), revoke.

The new token is rendered in the answer to the POST that created it and
nowhere else: it is never stored in clear, so it cannot be shown again.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from simdesk.accounts.tokens import token_create, token_revoke, tokens_for_user
from simdesk.core.clock import utcnow
from simdesk.core.errors import NotFound, ServiceError


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Token name"), max_length=100,
        help_text=gettext_lazy("What the token is for, such as “home server script”."))


@never_cache
@login_required
def access_tokens(request):
    plaintext = None
    form = TokenForm()
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                _token, plaintext = token_create(user=request.user,
                                                 name=form.cleaned_data["name"], now=utcnow())
            except ServiceError as error:
                form.add_error("name", str(error.message))
            else:
                form = TokenForm()
    return render(request, "portal/tokens.html", {
        "form": form,
        "plaintext": plaintext,
        "tokens": tokens_for_user(user=request.user),
    })


@require_POST
@login_required
def access_token_revoke(request, public_id):
    try:
        token = token_revoke(user=request.user, token_public_id=public_id, now=utcnow())
    except NotFound:
        messages.error(request, _("That token was not found. It may have been revoked "
                                  "already."))
    else:
        messages.success(request, _("The token “%(name)s” was revoked. Programs using it "
                                    "can no longer sign in.") % {"name": token.name})
    return redirect("portal:access_tokens")
