"""Who may enter the back office, and which pages each role may open.

Staff sign in through the same pages as customers. Every back-office view is wrapped
in ``staff_view(permission)``:
- a visitor who is not signed in is sent to the sign-in page;
- a signed-in account that is not staff, or lacks the role, gets 403;
- a staff account without TOTP is sent to set it up, and one whose session was not
  confirmed with a TOTP code (it was turned on during this session) is asked for one —
  nobody works in the back office on a password alone.
"""

from functools import wraps
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from simdesk.accounts.roles import staff_can, staff_permissions


def _has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def _session_confirmed_by_totp(request) -> bool:
    return any(record.get("method") == "mfa"
               for record in get_authentication_records(request, request.user))


def staff_view(permission: str):
    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not staff_can(user, permission):
                raise PermissionDenied
            if not _has_totp(user):
                messages.warning(request, _("Staff accounts need two-factor authentication. "
                                            "Set it up to enter the back office."))
                return redirect("mfa_activate_totp")
            if not _session_confirmed_by_totp(request):
                return redirect(f"{reverse('mfa_reauthenticate')}?"
                                f"{urlencode({'next': request.get_full_path()})}")
            request.staff_permissions = staff_permissions(user)
            return view(request, *args, **kwargs)
        return wrapped
    return decorate
