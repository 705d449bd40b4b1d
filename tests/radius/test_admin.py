"""Staff manage network access servers; the shared secret is write-only."""

import pytest
from django.urls import reverse

from simdesk.radius.models import NasClient

pytestmark = pytest.mark.django_db

SECRET_TYPED = "a-long-shared-secret-42"


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("admin@example.com", is_staff=True, is_superuser=True))
    return client


def test_staff_add_a_nas_and_its_secret_is_never_shown_again(staff_client):
    response = staff_client.post(reverse("admin:radius_nasclient_add"), {
        "name": "pgw-fra-1", "address": "10.1.0.7/16",
        "secret": SECRET_TYPED, "coa_port": "3799", "active": "on"})

    assert response.status_code == 302, response.content.decode()[:2000]
    nas = NasClient.objects.get(name="pgw-fra-1")
    assert (nas.address, nas.secret, nas.coa_port) == ("10.1.0.0/16", SECRET_TYPED, 3799)
    listing = staff_client.get(reverse("admin:radius_nasclient_changelist")).content.decode()
    change = staff_client.get(reverse("admin:radius_nasclient_change", args=[nas.pk]))
    assert SECRET_TYPED not in listing
    assert "23 characters" in listing
    assert SECRET_TYPED not in change.content.decode()


def test_leaving_the_secret_empty_on_edit_keeps_it(staff_client):
    nas = NasClient.objects.create(name="pgw-1", address="10.0.0.1", secret=SECRET_TYPED)

    response = staff_client.post(reverse("admin:radius_nasclient_change", args=[nas.pk]), {
        "name": "pgw-1", "address": "10.0.0.2", "secret": "", "coa_port": "3799",
        "active": "on"})

    assert response.status_code == 302
    nas.refresh_from_db()
    assert (nas.address, nas.secret) == ("10.0.0.2", SECRET_TYPED)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("secret", "short", "at least 16 characters"),
    ("address", "pgw.example.com", "Give an IP address"),
    ("coa_port", "70000", "less than or equal to 65535"),
])
def test_it_names_what_is_wrong(staff_client, field, value, message):
    data = {"name": "pgw-2", "address": "10.0.0.3", "secret": SECRET_TYPED,
            "coa_port": "3799", "active": "on", field: value}

    response = staff_client.post(reverse("admin:radius_nasclient_add"), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not NasClient.objects.exists()


def test_a_new_nas_needs_a_secret(staff_client):
    response = staff_client.post(reverse("admin:radius_nasclient_add"), {
        "name": "pgw-3", "address": "10.0.0.4", "secret": "", "coa_port": "3799"})

    assert response.status_code == 200
    assert "Give the shared secret" in response.content.decode()


def test_staff_read_sessions_but_cannot_edit_them(staff_client):
    assert staff_client.get(reverse("admin:radius_radiussession_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:radius_radiussession_add")).status_code == 403
