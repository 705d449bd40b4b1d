from django.urls import path

from . import views

app_name = "backoffice"

urlpatterns = [
    path("", views.home, name="home"),
    path("customers/<uuid:public_id>/", views.customer_detail, name="customer"),
    path("cards/<uuid:public_id>/", views.card_detail, name="card"),
    path("cards/<uuid:public_id>/suspend/", views.card_suspend, name="card_suspend"),
    path("cards/<uuid:public_id>/resume/", views.card_resume, name="card_resume"),
    path("cards/<uuid:public_id>/adjust/", views.card_adjust, name="card_adjust"),
    path("cards/<uuid:public_id>/extend/", views.card_extend, name="card_extend"),
    path("cards/<uuid:public_id>/resend-activation/", views.card_resend_activation,
         name="card_resend_activation"),
    path("audit/", views.audit_log, name="audit"),
]
