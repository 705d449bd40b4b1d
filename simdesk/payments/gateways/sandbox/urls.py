from django.urls import path

from . import views

app_name = "sandbox"

urlpatterns = [
    path("pay/<uuid:charge_id>", views.pay_page, name="pay"),
    path("pay/<uuid:charge_id>/authenticate", views.authenticate_page, name="authenticate"),
]
