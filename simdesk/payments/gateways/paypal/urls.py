from django.urls import path

from . import views

app_name = "paypal"

urlpatterns = [
    path("return/<uuid:payment_id>", views.return_page, name="return"),
    path("cancel/<uuid:payment_id>", views.cancel_page, name="cancel"),
]
