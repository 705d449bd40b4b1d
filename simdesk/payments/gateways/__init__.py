"""The payment gateways simdesk knows, and the ones this installation enables.

``settings.PAYMENT_GATEWAYS`` lists the enabled names (default: only the
built-in ``sandbox``); each name maps to its vendor folder here.
"""

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import NotFound

from .base import PaymentGateway

GATEWAY_CLASSES: dict[str, str] = {
    "sandbox": "simdesk.payments.gateways.sandbox.gateway.SandboxGateway",
}


def enabled_gateway_names() -> list[str]:
    return [name for name in getattr(settings, "PAYMENT_GATEWAYS", ["sandbox"])
            if name in GATEWAY_CLASSES]


@cache
def _gateway_instance(name: str) -> PaymentGateway:
    return import_string(GATEWAY_CLASSES[name])()


def get_gateway(name: str) -> PaymentGateway:
    """The enabled gateway called ``name``; NotFound for an unknown or disabled one."""
    if name not in enabled_gateway_names():
        raise NotFound(_("This payment method is not available."), code="unknown_gateway")
    return _gateway_instance(name)


def enabled_gateways() -> list[PaymentGateway]:
    return [_gateway_instance(name) for name in enabled_gateway_names()]
