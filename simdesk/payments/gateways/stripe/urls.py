from django.urls import path

from . import views

app_name = "stripe"

urlpatterns = [
    path("pay/<uuid:payment_id>", views.pay_page, name="pay"),
    path("pay/<uuid:payment_id>/confirm", views.pay_confirm, name="confirm"),
    path("pay/<uuid:payment_id>/return", views.pay_return, name="return"),
    path("pay/<uuid:payment_id>/authenticate", views.authenticate_page, name="authenticate"),
]
