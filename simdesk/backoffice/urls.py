from django.urls import path

from . import report_views, views

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
    path("dashboard/", report_views.dashboard_page, name="dashboard"),
    path("inventory/import/", report_views.inventory_import, name="inventory_import"),
    path("inventory/import/<uuid:public_id>/", report_views.inventory_import_result,
         name="inventory_import_result"),
    path("inventory/import/<uuid:public_id>/errors.csv", report_views.inventory_import_errors,
         name="inventory_import_errors"),
    path("orders/export.csv", report_views.orders_export, name="orders_export"),
]
