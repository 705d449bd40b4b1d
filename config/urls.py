from django.contrib import admin
from django.urls import include, path

from simdesk.core.views import healthz

admin.site.site_header = "simdesk"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("simdesk.portal.urls")),
]
