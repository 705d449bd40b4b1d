from django.urls import path

from . import views

app_name = "alipay"

urlpatterns = [
    path("pay/<uuid:payment_id>", views.pay_redirect, name="pay"),
    path("return/", views.return_page, name="return"),
]
