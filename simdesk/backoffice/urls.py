from django.urls import path

from . import catalog, report_views, support, views

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
    path("tickets/", support.ticket_list, name="tickets"),
    path("tickets/<uuid:public_id>/", support.ticket_detail, name="ticket"),
    path("tickets/<uuid:public_id>/reply/", support.ticket_reply, name="ticket_reply"),
    path("tickets/<uuid:public_id>/resolve/", support.ticket_resolve, name="ticket_resolve"),
    path("announcements/", support.announcement_list, name="announcements"),
    path("announcements/new/", support.announcement_new, name="announcement_new"),
    path("announcements/<uuid:public_id>/", support.announcement_edit, name="announcement_edit"),
    path("coupons/", catalog.coupon_list, name="coupons"),
    path("coupons/new/", catalog.coupon_new, name="coupon_new"),
    path("coupons/<uuid:public_id>/", catalog.coupon_edit, name="coupon_edit"),
    path("coupons/<uuid:public_id>/archive/", catalog.coupon_archive, name="coupon_archive"),
    path("coupons/<uuid:public_id>/restore/", catalog.coupon_restore, name="coupon_restore"),
    path("plans/", catalog.plan_list, name="plans"),
    path("plans/new/", catalog.plan_new, name="plan_new"),
    path("plans/<uuid:public_id>/", catalog.plan_edit, name="plan_edit"),
    path("plans/<uuid:public_id>/archive/", catalog.plan_archive, name="plan_archive"),
    path("plans/<uuid:public_id>/restore/", catalog.plan_restore, name="plan_restore"),
    path("audit/", views.audit_log, name="audit"),
    path("dashboard/", report_views.dashboard_page, name="dashboard"),
    path("inventory/import/", report_views.inventory_import, name="inventory_import"),
    path("inventory/import/<uuid:public_id>/", report_views.inventory_import_result,
         name="inventory_import_result"),
    path("inventory/import/<uuid:public_id>/errors.csv", report_views.inventory_import_errors,
         name="inventory_import_errors"),
    path("orders/export.csv", report_views.orders_export, name="orders_export"),
]
