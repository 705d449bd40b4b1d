from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.account_settings, name="settings"),
    path("language/", views.set_language, name="set_language"),
]
