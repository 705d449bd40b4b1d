"""The audit log: filterable, and append-only."""

import uuid

import pytest
from django.db import connection, transaction
from django.urls import reverse

from simdesk.core.audit import audit_record
from simdesk.core.models import AuditEntry

from .conftest import sign_in_staff


def test_it_refuses_to_change_or_delete_an_entry(alice, now):
    entry = audit_record(actor=alice, action="card.suspend", target=alice, now=now)

    entry.reason = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()


@pytest.mark.postgres
def test_postgresql_refuses_an_update_even_behind_the_model(alice, now):
    audit_record(actor=alice, action="card.suspend", target=alice, now=now)

    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        AuditEntry.objects.update(reason="rewritten")
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry")


def test_it_filters_by_who_and_action(client, biller, alice, now):
    audit_record(actor=biller, action="period.adjust", target=alice, now=now,
                 key=str(uuid.uuid4()))
    audit_record(actor=alice, action="card.suspend", target=alice, now=now)
    sign_in_staff(client, biller)

    html = client.get(reverse("backoffice:audit"), {"who": "bea@", "action": "period"}
                      ).content.decode()

    assert "period.adjust" in html
    assert "card.suspend" not in html


def test_a_bad_date_in_the_filter_is_an_error_not_a_crash(client, biller):
    sign_in_staff(client, biller)

    response = client.get(reverse("backoffice:audit"), {"since": "yesterday"})

    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
