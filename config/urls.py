from django.contrib import admin
from django.urls import include, path

from simdesk.api.v1 import api as api_v1
from simdesk.api.webhooks import inbound_webhook
from simdesk.core.views import healthz

admin.site.site_header = "simdesk"


def _superusers_only(request) -> bool:
    """Django's admin shows raw data: superusers only. Staff work in the back office
    (/staff/), where each role sees what it may."""
    return request.user.is_active and request.user.is_superuser


admin.site.has_permission = _superusers_only

handler500 = "simdesk.core.views.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("staff/", include("simdesk.backoffice.urls")),
    path("api/v1/", api_v1.urls),
    path("webhooks/<slug:gateway>/", inbound_webhook, name="payments-webhook"),
    path("sandbox/", include("simdesk.payments.gateways.sandbox.urls")),
    path("payments/stripe/", include("simdesk.payments.gateways.stripe.urls")),
    path("payments/paypal/", include("simdesk.payments.gateways.paypal.urls")),
    path("payments/alipay/", include("simdesk.payments.gateways.alipay.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("simdesk.portal.urls")),
]
