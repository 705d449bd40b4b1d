"""The bench server's URLconf: every production URL, plus a bare view reading one row.

The bare view is the yardstick of bench/api_balance.py: the least a Django view backed
by the same database can do — one row by primary key, through the same middleware, the
same server and the same connection settings — and answers the same number the
balance endpoint must answer."""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as app_urlpatterns
from simdesk.cards.models import Period


def bare_row(request, pk: int):
    period = Period.objects.get(pk=pk)
    return JsonResponse({"id": str(period.public_id), "remaining_bytes": period.remaining_bytes})


urlpatterns = [path("bench/row/<int:pk>", bare_row), *app_urlpatterns]
