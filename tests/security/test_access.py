"""Who may open which portal page. The pages are read from the URLconf:

- every portal page that takes an object's id is named in the world fixture, and bob
  opening alice's object gets 404 (never 403: the id's existence is not revealed),
  for GET and for POST;
- a visitor is sent to sign in (or refused) everywhere but the public pages;
- a customer gets 403 on every back-office page (tests/backoffice/test_access.py has
  the per-role matrix) and Django's admin sends her to its sign-in;
- ids in portal URLs are opaque: no page links to an object by its integer key.

The API's matrix (every operation, scopes, CSRF) is tests/api/test_access_matrix.py.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from .conftest import url_patterns

pytestmark = pytest.mark.django_db

PUBLIC = {"portal:home", "portal:plans", "portal:plan_detail", "portal:set_language",
          "portal:account_deleted", "portal:renewal_off"}


def portal_routes():
    for route, name, _callback in url_patterns():
        if name and name.startswith("portal:"):
            yield route, name


def gateway_pages():
    return [name for _route, name, _callback in url_patterns()
            if name and name.split(":")[0] in ("stripe", "paypal", "alipay", "sandbox")]


def test_every_portal_page_with_an_id_is_in_the_matrix(world):
    with_ids = {name for route, name in portal_routes() if "<" in route}
    not_owned = {"portal:renewal_off",  # a signed token, not an object id
                 "portal:plan_detail",  # a plan's public code
                 "portal:announcement_dismiss"}  # announcements are everyone's

    assert with_ids - not_owned == {n for n in world.ids if n.startswith("portal:")}


def test_bob_gets_404_for_every_one_of_alices_objects(world, frozen):
    """A page answers 404; an action answers exactly as it does for an id that does
    not exist (the token page's "not found" message), and changes nothing."""
    import uuid

    from simdesk.accounts.models import PersonalAccessToken

    bob = Client()
    bob.force_login(world.bob)
    for name, kwargs in world.ids.items():
        if not name.startswith("portal:"):
            continue
        url = reverse(name, kwargs=kwargs)
        unknown = reverse(name, kwargs={k: uuid.uuid4() for k in kwargs})
        for method in ("get", "post"):
            response = getattr(bob, method)(url)
            if response.status_code == 405:
                continue
            if response.status_code != 404:
                nobodys = getattr(bob, method)(unknown)
                assert (response.status_code, response.get("Location")) == (
                    nobodys.status_code, nobodys.get("Location")), (name, method)
                assert response.status_code == 302, (name, method, response.status_code)
            assert str(kwargs["public_id"]) not in response.content.decode()
    token_id = world.ids["portal:access_token_revoke"]["public_id"]
    assert PersonalAccessToken.objects.get(public_id=token_id).revoked_at is None


def test_alice_reaches_the_same_pages(world, frozen):
    """The 404s above are about ownership, not broken ids."""
    alice = Client()
    alice.force_login(world.alice)
    for name, kwargs in world.ids.items():
        if name.startswith("portal:") and not name.endswith(("_confirm", "_pay", "_coupon",
                                                             "_reply", "_close", "_revoke",
                                                             "_authenticate")):
            response = alice.get(reverse(name, kwargs=kwargs))
            assert response.status_code in (200, 302), (name, response.status_code)


def test_bob_gets_404_on_alices_gateway_pages(world, frozen):
    """The pay and return pages of a payment are its customer's alone (each gateway's
    tests open them with a real payment of theirs; here any id is refused alike)."""
    import uuid

    from simdesk.payments.models import Payment

    bob = Client()
    bob.force_login(world.bob)
    payment = Payment.objects.filter(customer=world.alice).latest("created_at")
    for name in ("stripe:pay", "stripe:return", "stripe:authenticate", "paypal:return",
                 "paypal:cancel", "alipay:pay"):
        for payment_id in (payment.public_id, uuid.uuid4()):
            response = bob.get(reverse(name, kwargs={"payment_id": payment_id}))
            assert response.status_code == 404, (name, response.status_code)
    assert {"stripe:confirm", "alipay:return", "sandbox:pay", "sandbox:authenticate"} | {
        "stripe:pay", "stripe:return", "stripe:authenticate", "paypal:return",
        "paypal:cancel", "alipay:pay"} >= set(gateway_pages())


def test_a_visitor_is_sent_to_sign_in_everywhere_but_the_public_pages(world):
    visitor = Client()
    for route, name in portal_routes():
        if name in PUBLIC:
            continue
        kwargs = world.ids.get(name) or (
            {"public_id": "00000000-0000-4000-8000-000000000000"} if "<" in route else {})
        response = visitor.get(reverse(name, kwargs=kwargs))
        if response.status_code == 405:
            response = visitor.post(reverse(name, kwargs=kwargs))
        assert response.status_code == 302, (name, response.status_code)
        assert response["Location"].startswith(reverse("account_login")), name


def test_a_customer_is_refused_the_back_office_and_the_admin(world, frozen):
    alice = Client()
    alice.force_login(world.alice)
    for route, name, _callback in url_patterns():
        if name and name.startswith("backoffice:") and "<" not in route:
            assert alice.get(reverse(name)).status_code == 403, name
    response = alice.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_portal_pages_link_objects_by_opaque_ids_only(world, frozen):
    """No href in alice's pages carries an integer where an object id goes."""
    from simdesk.cards.models import Card
    from simdesk.orders.models import Order

    alice = Client()
    alice.force_login(world.alice)
    keys = {str(pk) for pk in [*Card.objects.values_list("pk", flat=True),
                               *Order.objects.values_list("pk", flat=True)]}
    pages = ["/", "/cards/", "/orders/", "/support/", "/settings/tokens/",
             *[reverse(n, kwargs=k) for n, k in world.ids.items()
               if n in ("portal:card_detail", "portal:order_detail", "portal:support_ticket")]]
    for page in pages:
        html = alice.get(page).content.decode()
        for href in re.findall(r'(?:href|action)="(/[^"]*)"', html):
            segments = [s for s in href.split("?")[0].split("/") if s]
            numeric = [s for s in segments if s.isdigit()]
            assert not numeric or not set(numeric) & keys, (page, href)


def test_no_route_of_the_site_takes_an_integer_key():
    routes = [route for route, _name, _cb in url_patterns() if not route.startswith("admin/")]

    assert [route for route in routes if "<int:" in route] == []
