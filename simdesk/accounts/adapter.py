from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.utils import translation


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # A new customer keeps the language they signed up in.
        user.language = translation.get_language() or ""
        return super().save_user(request, user, form, commit=commit)

    def pre_authenticate(self, request, **credentials):
        # A client axes has locked out goes straight to authentication, where
        # axes refuses it and answers with the lockout page (429). Otherwise
        # allauth's own failed-login limit would answer first with a plain form
        # error, and the lockout would never be shown.
        if AxesProxyHandler.is_locked(request, credentials):
            return
        super().pre_authenticate(request, **credentials)

    def send_mail(self, template_prefix, email, context):
        # Without django.contrib.sites allauth would sign e-mails with the
        # request's host name; use the operator's configured name and address.
        site = SimpleNamespace(
            name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc
        )
        super().send_mail(template_prefix, email, {"current_site": site, **context})
