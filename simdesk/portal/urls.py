from django.urls import path

from . import plans, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.account_settings, name="settings"),
    path("language/", views.set_language, name="set_language"),
    path("plans/", plans.plan_list, name="plans"),
    path("plans/<slug:code>/", plans.plan_detail, name="plan_detail"),
]
