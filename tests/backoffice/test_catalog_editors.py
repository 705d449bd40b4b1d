"""The coupons and plans editors: bea (billing admin) creates, edits and archives; prices are
typed in the currency's units and stored exactly in minor units, data as "5 GB"; editing a
plan leaves what was sold alone. Each save is audited with the fields it changed; a wrong
form is a 400 with the error on its field and writes nothing. sam (support) cannot edit."""

import uuid

import pytest
from django.urls import reverse

from simdesk.cards.services import period_create
from simdesk.catalog.models import Coupon, Plan, PlanStatus
from simdesk.core.models import AuditEntry

from .conftest import sign_in_staff

GB = 10**9


def plan_form(**changes):
    data = {
        "key": str(uuid.uuid4()), "code": "europe-5gb", "kind": "base", "data": "5 GB",
        "fair_use": "", "throttle_kbps": "", "validity_days": "30",
        "validity_start": "on_purchase", "stacking": "queue", "renewable": "on",
        "max_pause_days": "0", "region": "", "countries": "fr, DE", "sort_order": "0",
        "name_en": "Europe 5 GB", "description_en": "France and Germany.",
        "name_zh_hans": "欧洲 5 GB", "price_USD": "4.99", "price_JPY": "600",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def coupon_form(**changes):
    data = {"key": str(uuid.uuid4()), "code": "summer20", "description": "Summer campaign",
            "kind": "percent", "percent_off": "20", "max_per_customer": "1"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def audit(action):
    return AuditEntry.objects.filter(action=action)


@pytest.fixture
def plan(client, biller):
    """bea created the Europe 5 GB plan through the editor."""
    sign_in_staff(client, biller)
    client.post(reverse("backoffice:plan_new"), plan_form())
    return Plan.objects.get(code="europe-5gb")


# --- Plans -----------------------------------------------------------------------------------

def test_a_billing_admin_creates_a_plan_with_exact_prices_and_names(client, plan, biller):
    assert plan.data_bytes == 5 * GB and plan.validity_days == 30
    assert {p.currency: p.amount_minor for p in plan.prices.all()} == {"USD": 499, "JPY": 600}
    assert {t.language: t.name for t in plan.translations.all()} == {
        "en": "Europe 5 GB", "zh-hans": "欧洲 5 GB"}
    assert sorted(plan.own_country_codes()) == ["DE", "FR"]
    entry = audit("plan.create").get()
    assert entry.actor == biller and entry.target_id == str(plan.public_id)
    assert entry.after["prices"] == {"JPY": 600, "USD": 499}


def test_editing_a_plan_records_the_changes_and_leaves_sold_periods_alone(
        client, plan, make_card, alice, now):
    period = period_create(card=make_card(owner=alice), plan=plan, source="test:sold",
                           now=now)
    url = reverse("backoffice:plan_edit", args=[plan.public_id])
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["form"]["data"].value() == "5 GB"
    assert "keep the terms they bought" in page.content.decode()

    response = client.post(url, plan_form(code=None, data="10 GB", price_USD="5.49"))

    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.data_bytes == 10 * GB and plan.price_in("USD").amount_minor == 549
    period.refresh_from_db()
    assert period.total_bytes == 5 * GB
    entry = audit("plan.update").get()
    assert entry.before == {"data_bytes": 5 * GB, "prices": {"JPY": 600, "USD": 499}}
    assert entry.after == {"data_bytes": 10 * GB, "prices": {"JPY": 600, "USD": 549}}


@pytest.mark.parametrize(("changes", "field"), [
    ({"data": ""}, "fair_use"),                        # unlimited needs a fair-use cap
    ({"data": "5 GiB"}, "data"),
    ({"price_USD": "4.999"}, "price_USD"),
    ({"price_JPY": "600.5"}, "price_JPY"),
    ({"price_USD": "", "price_JPY": ""}, "price_USD"),
    ({"price_USD": "0"}, "price_USD"),
    ({"kind": "topup"}, "stacking"),                   # a top-up cannot queue
    ({"pausable": "on"}, "max_pause_days"),
    ({"name_en": ""}, "name_en"),
    ({"countries": "FR, XX"}, "countries"),
    ({"countries": ""}, "countries"),                  # no coverage at all
    ({"validity_days": "0"}, "validity_days"),
])
def test_a_wrong_plan_form_is_a_400_with_the_fields_error_and_writes_nothing(
        client, biller, changes, field):
    sign_in_staff(client, biller)

    response = client.post(reverse("backoffice:plan_new"), plan_form(**changes))

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Plan.objects.exists()
    assert not audit("plan.create").exists()


def test_a_wrong_edit_changes_nothing(client, plan):
    response = client.post(reverse("backoffice:plan_edit", args=[plan.public_id]),
                           plan_form(code=None, data="", price_USD="9.99"))

    assert response.status_code == 400
    assert response.context["form"].errors["fair_use"]
    plan.refresh_from_db()
    assert plan.data_bytes == 5 * GB and plan.price_in("USD").amount_minor == 499
    assert not audit("plan.update").exists()


def test_a_new_plan_cannot_take_an_existing_code(client, plan):
    response = client.post(reverse("backoffice:plan_new"), plan_form(data="1 GB"))

    assert response.status_code == 400
    assert response.context["form"].errors["code"]
    plan.refresh_from_db()
    assert plan.data_bytes == 5 * GB


def test_archiving_a_plan_stops_its_sale_and_is_audited(client, plan):
    client.post(reverse("backoffice:plan_archive", args=[plan.public_id]),
                {"key": str(uuid.uuid4())})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ARCHIVED

    client.post(reverse("backoffice:plan_restore", args=[plan.public_id]),
                {"key": str(uuid.uuid4())})
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    assert [(e.action, e.before, e.after) for e in AuditEntry.objects.order_by("pk")
            if e.action in ("plan.archive", "plan.restore")] == [
        ("plan.archive", {"status": "active"}, {"status": "archived"}),
        ("plan.restore", {"status": "archived"}, {"status": "active"})]
    assert "europe-5gb" in client.get(reverse("backoffice:plans")).content.decode()


def test_a_support_agent_cannot_edit_plans(client, agent, plan):
    sign_in_staff(client, agent)

    assert client.post(reverse("backoffice:plan_new"),
                       plan_form(code="other")).status_code == 403
    assert client.post(reverse("backoffice:plan_archive", args=[plan.public_id]),
                       {"key": str(uuid.uuid4())}).status_code == 403
    assert Plan.objects.count() == 1 and not audit("plan.archive").exists()


# --- Coupons ---------------------------------------------------------------------------------

def test_a_billing_admin_creates_percent_and_fixed_coupons(client, plan, biller):
    client.post(reverse("backoffice:coupon_new"), coupon_form(plans=["europe-5gb"]))
    client.post(reverse("backoffice:coupon_new"),
                coupon_form(code="FIVE-OFF", kind="fixed", percent_off="", amount_EUR="5.00",
                            amount_JPY="700"))

    summer = Coupon.objects.get(code="SUMMER20")
    assert summer.percent_off == 20 and list(summer.plans.all()) == [plan]
    five = Coupon.objects.get(code="FIVE-OFF")
    assert {a.currency: a.amount_minor for a in five.amounts.all()} == {"EUR": 500, "JPY": 700}
    assert audit("coupon.create").count() == 2
    assert audit("coupon.create").get(target_id=str(five.public_id)).after["amounts"] == {
        "EUR": 500, "JPY": 700}
    html = client.get(reverse("backoffice:coupons")).content.decode()
    assert "SUMMER20" in html and "FIVE-OFF" in html


@pytest.mark.parametrize(("changes", "field"), [
    ({"percent_off": "150"}, "percent_off"),
    ({"percent_off": ""}, "percent_off"),
    ({"kind": "fixed", "percent_off": ""}, "amount_USD"),          # no amount at all
    ({"kind": "fixed"}, "percent_off"),                            # a percentage too
    ({"amount_USD": "2.00"}, "amount_USD"),                        # amounts on a percent
    ({"kind": "fixed", "percent_off": "", "amount_USD": "1.234"}, "amount_USD"),
    ({"code": "no spaces!"}, "code"),
    ({"valid_from": "2026-07-01T00:00", "valid_until": "2026-06-01T00:00"}, "valid_until"),
])
def test_a_wrong_coupon_form_is_a_400_with_the_fields_error_and_writes_nothing(
        client, biller, changes, field):
    sign_in_staff(client, biller)

    response = client.post(reverse("backoffice:coupon_new"), coupon_form(**changes))

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not Coupon.objects.exists()
    assert not audit("coupon.create").exists()


def test_editing_and_archiving_a_coupon_are_audited(client, biller):
    sign_in_staff(client, biller)
    client.post(reverse("backoffice:coupon_new"), coupon_form())
    coupon = Coupon.objects.get()
    assert client.post(reverse("backoffice:coupon_new"), coupon_form()).status_code == 400

    client.post(reverse("backoffice:coupon_edit", args=[coupon.public_id]),
                coupon_form(code=None, percent_off="25"))
    client.post(reverse("backoffice:coupon_archive", args=[coupon.public_id]),
                {"key": str(uuid.uuid4())})

    coupon.refresh_from_db()
    assert (coupon.code, coupon.percent_off, coupon.active) == ("SUMMER20", 25, False)
    assert [(e.action, e.before, e.after) for e in AuditEntry.objects.order_by("pk")
            if e.action in ("coupon.update", "coupon.archive")] == [
        ("coupon.update", {"percent_off": 20}, {"percent_off": 25}),
        ("coupon.archive", {"active": True}, {"active": False})]


def test_a_support_agent_cannot_edit_coupons(client, agent):
    sign_in_staff(client, agent)

    assert client.post(reverse("backoffice:coupon_new"), coupon_form()).status_code == 403
    assert not Coupon.objects.exists()


def test_the_list_pager_keeps_the_filter_on_every_page(client, biller):
    Coupon.objects.bulk_create(
        Coupon(code=f"old{i:03d}", kind="percent", percent_off=10, active=False)
        for i in range(51))
    sign_in_staff(client, biller)

    first = client.get(reverse("backoffice:coupons"), {"show": "archived"}).content.decode()
    second = client.get(reverse("backoffice:coupons"),
                        {"show": "archived", "page": "2"}).content.decode()

    assert 'href="?show=archived&amp;page=2"' in first
    assert 'href="?show=archived&amp;page=1"' in second
    assert "old050" in second and "old050" not in first
