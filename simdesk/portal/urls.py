from django.urls import path

from . import cards, checkout, notifications, orders, pause, plans, renewals, support, tokens, views
from .owndata import account_delete, account_deleted, your_data, your_data_download
from .plan_change import card_plan_change, card_plan_change_confirm
from .refunds import card_refund, period_refund

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/notifications/", notifications.notification_preferences,
         name="notification_preferences"),
    path("settings/tokens/", tokens.access_tokens, name="access_tokens"),
    path("settings/tokens/<uuid:public_id>/revoke/", tokens.access_token_revoke,
         name="access_token_revoke"),
    path("settings/data/", your_data, name="your_data"),
    path("settings/data/download/", your_data_download, name="your_data_download"),
    path("settings/data/delete/", account_delete, name="account_delete"),
    path("account-deleted/", account_deleted, name="account_deleted"),
    path("language/", views.set_language, name="set_language"),
    path("cards/", cards.card_list, name="cards"),
    path("cards/add/", cards.card_add, name="card_add"),
    path("cards/<uuid:public_id>/", cards.card_detail, name="card_detail"),
    path("cards/<uuid:public_id>/renewal/", renewals.renewal_settings, name="card_renewal"),
    path("cards/<uuid:public_id>/pause/", pause.card_pause_confirm, name="card_pause"),
    path("cards/<uuid:public_id>/resume/", pause.card_resume_confirm, name="card_resume"),
    path("cards/<uuid:public_id>/change-plan/", card_plan_change,
         name="card_plan_change"),
    path("cards/<uuid:public_id>/change-plan/confirm/", card_plan_change_confirm,
         name="card_plan_change_confirm"),
    path("cards/<uuid:public_id>/refund/", card_refund, name="card_refund"),
    path("cards/<uuid:public_id>/periods/<uuid:period_public_id>/refund/",
         period_refund, name="period_refund"),
    path("renewal/off/<str:token>/", renewals.renewal_off, name="renewal_off"),
    path("payments/<uuid:public_id>/authenticate/", renewals.renewal_authenticate,
         name="payment_authenticate"),
    path("plans/", plans.plan_list, name="plans"),
    path("plans/<slug:code>/", plans.plan_detail, name="plan_detail"),
    path("checkout/", checkout.checkout_start, name="checkout_start"),
    path("checkout/<uuid:public_id>/", checkout.checkout_review, name="checkout"),
    path("checkout/<uuid:public_id>/coupon/", checkout.checkout_coupon, name="checkout_coupon"),
    path("checkout/<uuid:public_id>/pay/", checkout.checkout_pay, name="checkout_pay"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/export.csv", orders.orders_csv, name="orders_csv"),
    path("orders/<uuid:public_id>/", orders.order_detail, name="order_detail"),
    path("orders/<uuid:public_id>/status/", orders.order_status, name="order_status"),
    path("orders/<uuid:public_id>/receipt/", orders.order_receipt, name="order_receipt"),
    path("support/", support.ticket_list, name="support_tickets"),
    path("support/new/", support.ticket_new, name="support_ticket_new"),
    path("support/<uuid:public_id>/", support.ticket_detail, name="support_ticket"),
    path("support/<uuid:public_id>/reply/", support.ticket_reply, name="support_ticket_reply"),
    path("support/<uuid:public_id>/close/", support.ticket_close, name="support_ticket_close"),
    path("announcements/<uuid:public_id>/dismiss/", support.announcement_hide,
         name="announcement_dismiss"),
]
