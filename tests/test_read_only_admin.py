"""Rows that change only through services cannot be added, edited or deleted in the admin,
even by a superuser."""

import pytest
from django.contrib.admin.sites import site

from simdesk.cards.models import LedgerEntry, NetworkAction, Period
from simdesk.catalog.models import CouponRedemption
from simdesk.payments.models import Payment


@pytest.mark.parametrize("model", [LedgerEntry, Period, NetworkAction, CouponRedemption, Payment])
def test_it_refuses_add_change_and_delete_even_to_a_superuser(model, rf, make_user):
    request = rf.get("/admin/")
    request.user = make_user("root@example.com", is_staff=True, is_superuser=True)
    model_admin = site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
