"""Who may enter the back office, and which actions each role may take.

Every back-office URL is listed once with the permission it needs; each role is
checked against each URL, so a new page cannot slip in without being covered.
"""

import uuid

import pytest
from django.urls import reverse

from simdesk.accounts.roles import ROLE_PERMISSIONS, Perm, StaffRole

from .conftest import sign_in_staff

CARD = uuid.uuid4()
CUSTOMER = uuid.uuid4()
THING = uuid.uuid4()  # a ticket, announcement, coupon or plan that does not exist
IMPORT = uuid.uuid4()

# (url, method, permission); the ids do not exist, so an allowed request ends in 404
# (or 400 for an empty form) — anything but 403 and a redirect to set up TOTP.
PAGES = [
    (reverse("backoffice:home"), "get", Perm.VIEW),
    (reverse("backoffice:customer", args=[CUSTOMER]), "get", Perm.VIEW),
    (reverse("backoffice:card", args=[CARD]), "get", Perm.VIEW),
    (reverse("backoffice:card_suspend", args=[CARD]), "post", Perm.CARD_STATE),
    (reverse("backoffice:card_resume", args=[CARD]), "post", Perm.CARD_STATE),
    (reverse("backoffice:card_adjust", args=[CARD]), "post", Perm.ADJUST_BALANCE),
    (reverse("backoffice:card_extend", args=[CARD]), "post", Perm.EXTEND_VALIDITY),
    (reverse("backoffice:card_resend_activation", args=[CARD]), "post",
     Perm.RESEND_ACTIVATION),
    (reverse("backoffice:tickets"), "get", Perm.TICKETS),
    (reverse("backoffice:ticket", args=[THING]), "get", Perm.TICKETS),
    (reverse("backoffice:ticket_reply", args=[THING]), "post", Perm.TICKETS),
    (reverse("backoffice:ticket_resolve", args=[THING]), "post", Perm.TICKETS),
    (reverse("backoffice:announcements"), "get", Perm.ANNOUNCEMENTS),
    (reverse("backoffice:announcement_new"), "get", Perm.ANNOUNCEMENTS),
    (reverse("backoffice:announcement_edit", args=[THING]), "post", Perm.ANNOUNCEMENTS),
    (reverse("backoffice:coupons"), "get", Perm.COUPONS),
    (reverse("backoffice:coupon_new"), "get", Perm.COUPONS),
    (reverse("backoffice:coupon_edit", args=[THING]), "post", Perm.COUPONS),
    (reverse("backoffice:coupon_archive", args=[THING]), "post", Perm.COUPONS),
    (reverse("backoffice:coupon_restore", args=[THING]), "post", Perm.COUPONS),
    (reverse("backoffice:plans"), "get", Perm.PLANS),
    (reverse("backoffice:plan_new"), "get", Perm.PLANS),
    (reverse("backoffice:plan_edit", args=[THING]), "post", Perm.PLANS),
    (reverse("backoffice:plan_archive", args=[THING]), "post", Perm.PLANS),
    (reverse("backoffice:plan_restore", args=[THING]), "post", Perm.PLANS),
    (reverse("backoffice:audit"), "get", Perm.AUDIT),
    (reverse("backoffice:dashboard"), "get", Perm.DASHBOARD),
    (reverse("backoffice:inventory_import"), "get", Perm.INVENTORY),
    (reverse("backoffice:inventory_import_result", args=[IMPORT]), "get", Perm.INVENTORY),
    (reverse("backoffice:inventory_import_errors", args=[IMPORT]), "get", Perm.INVENTORY),
    (reverse("backoffice:orders_export"), "get", Perm.INVENTORY),
    (reverse("backoffice:refunds"), "get", Perm.REFUND),
    (reverse("backoffice:refund_approve", args=[THING]), "post", Perm.REFUND),
    (reverse("backoffice:refund_reject", args=[THING]), "post", Perm.REFUND),
    (reverse("backoffice:order_refund", args=[THING]), "get", Perm.REFUND),
    (reverse("backoffice:payments"), "get", Perm.PAYMENTS),
    (reverse("backoffice:webhook_reprocess", args=["sandbox", "evt_none"]), "post",
     Perm.PAYMENTS),
    (reverse("backoffice:gateways"), "get", Perm.PAYMENTS),
]


def test_it_lists_every_back_office_url():
    from simdesk.backoffice.urls import urlpatterns

    assert len(urlpatterns) == len(PAGES)


@pytest.mark.parametrize("role", [StaffRole.SUPPORT_AGENT, StaffRole.BILLING_ADMIN])
@pytest.mark.parametrize(("url", "method", "permission"), PAGES)
def test_each_role_reaches_exactly_its_pages(client, make_staff, role, url, method,
                                             permission):
    user = make_staff(f"{role.replace(' ', '')}@staff.example", role)
    sign_in_staff(client, user)

    response = getattr(client, method)(url)

    if permission in ROLE_PERMISSIONS[role]:
        assert response.status_code in (200, 404), response.status_code
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(("url", "method", "permission"), PAGES)
def test_a_superuser_reaches_every_page(client, root, url, method, permission):
    sign_in_staff(client, root)

    assert getattr(client, method)(url).status_code in (200, 404)


@pytest.mark.parametrize(("url", "method", "permission"), PAGES)
def test_a_customer_gets_403_everywhere(client, alice, url, method, permission):
    client.force_login(alice)

    assert getattr(client, method)(url).status_code == 403


def test_a_visitor_is_sent_to_sign_in(client, db):
    response = client.get(reverse("backoffice:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_staff_without_totp_are_sent_to_set_it_up_and_cannot_enter(client, make_staff):
    sam = make_staff("sam@staff.example", StaffRole.SUPPORT_AGENT, totp=False)
    sign_in_staff(client, sam, totp_confirmed=False)

    response = client.get(reverse("backoffice:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    assert client.get(reverse("backoffice:card", args=[CARD])).status_code == 302


def test_staff_whose_session_skipped_totp_are_asked_for_a_code(client, agent):
    sign_in_staff(client, agent, totp_confirmed=False)

    response = client.get(reverse("backoffice:home") + "?q=x")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert "next=%2Fstaff%2F%3Fq%3Dx" in response["Location"]


def test_a_deactivated_staff_account_gets_403(client, agent):
    sign_in_staff(client, agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])

    response = client.get(reverse("backoffice:home"))

    assert response.status_code in (302, 403)  # signed out by the auth backend, or refused
