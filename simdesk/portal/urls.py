from django.urls import path

from . import cards, plans, views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.account_settings, name="settings"),
    path("language/", views.set_language, name="set_language"),
    path("cards/", cards.card_list, name="cards"),
    path("cards/add/", cards.card_add, name="card_add"),
    path("cards/<uuid:public_id>/", cards.card_detail, name="card_detail"),
    path("plans/", plans.plan_list, name="plans"),
    path("plans/<slug:code>/", plans.plan_detail, name="plan_detail"),
]
