"""The payment gateways simdesk knows, and the ones this installation enables.

Rule: a gateway is enabled when ``settings.PAYMENT_GATEWAYS`` names it AND its
class says it is configured (``is_configured()``: its keys are set). By default
every known gateway is listed, so setting a vendor's keys is all it takes to
offer it; production leaves the sandbox out unless it is listed explicitly.

Vendor modules are imported lazily, on first use, never at start-up: a listed
gateway whose module is missing or does not import is simply not enabled (and
logged), so one vendor's broken SDK cannot stop simdesk from taking payments
with the others.
"""

import logging
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from simdesk.core.errors import NotFound

from .base import PaymentGateway

logger = logging.getLogger(__name__)

GATEWAY_CLASSES: dict[str, str] = {
    "sandbox": "simdesk.payments.gateways.sandbox.gateway.SandboxGateway",
    "stripe": "simdesk.payments.gateways.stripe.gateway.StripeGateway",
    "paypal": "simdesk.payments.gateways.paypal.gateway.PaypalGateway",
    "alipay": "simdesk.payments.gateways.alipay.gateway.AlipayGateway",
}

#: The settings each gateway needs before it can be offered, for staff to see what is
#: missing. Each entry is a tuple of alternatives (a PEM text or the file that holds it).
GATEWAY_SETTINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "sandbox": (),
    "stripe": (("STRIPE_SECRET_KEY",), ("STRIPE_PUBLISHABLE_KEY",), ("STRIPE_WEBHOOK_SECRET",)),
    "paypal": (("PAYPAL_CLIENT_ID",), ("PAYPAL_CLIENT_SECRET",), ("PAYPAL_WEBHOOK_ID",)),
    "alipay": (("ALIPAY_APP_ID",), ("ALIPAY_APP_PRIVATE_KEY", "ALIPAY_APP_PRIVATE_KEY_FILE"),
               ("ALIPAY_PUBLIC_KEY", "ALIPAY_PUBLIC_KEY_FILE")),
}

#: Gateways that move no real money: never to be enabled in production by default.
TEST_ONLY_GATEWAYS = frozenset({"sandbox"})


@cache
def gateway_class(name: str) -> type[PaymentGateway] | None:
    """The class of the known gateway ``name``; None if unknown or its module does not import."""
    path = GATEWAY_CLASSES.get(name)
    if path is None:
        return None
    try:
        return import_string(path)
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and error.name and path.startswith(
                error.name + "."):
            logger.info("payments: gateway %r is not installed (no %s)", name, error.name)
        else:  # the vendor's module is there but broken: loud, and the others still work
            logger.error("payments: gateway %r does not import (%s)", name, path, exc_info=True)
        return None


def listed_gateway_names() -> list[str]:
    """The known gateways ``settings.PAYMENT_GATEWAYS`` lists, in its order."""
    listed = getattr(settings, "PAYMENT_GATEWAYS", list(GATEWAY_CLASSES))
    return [name for name in dict.fromkeys(listed) if name in GATEWAY_CLASSES]


def _is_enabled(name: str) -> bool:
    cls = gateway_class(name)
    return cls is not None and cls.is_configured()


def enabled_gateway_names() -> list[str]:
    """Listed and configured, in the order of ``PAYMENT_GATEWAYS``."""
    return [name for name in listed_gateway_names() if _is_enabled(name)]


@cache
def _gateway_instance(name: str) -> PaymentGateway:
    return gateway_class(name)()


def get_gateway(name: str) -> PaymentGateway:
    """The enabled gateway called ``name``; NotFound for an unknown or disabled one."""
    if name not in enabled_gateway_names():
        raise NotFound(_("This payment method is not available."), code="unknown_gateway")
    return _gateway_instance(name)


def enabled_gateways() -> list[PaymentGateway]:
    return [_gateway_instance(name) for name in enabled_gateway_names()]


# --- What staff see ------------------------------------------------------------------------


def gateway_requirements(name: str) -> tuple[tuple[str, ...], ...]:
    return GATEWAY_SETTINGS.get(name, ())


def gateway_missing_settings(name: str) -> list[str]:
    """Names of the required settings that are empty (names only, never values)."""
    return [" / ".join(alternatives) for alternatives in gateway_requirements(name)
            if not any(getattr(settings, setting, "") for setting in alternatives)]


@dataclass(frozen=True)
class GatewayState:
    """One known gateway as this installation has it, for the back office."""

    name: str
    label: str
    state: str  # "live" | "test" | "off"
    listed: bool
    installed: bool
    configured: bool
    saves_methods: bool
    webhook_url: str
    missing_settings: list[str]


def gateway_states() -> list[GatewayState]:
    """Every known gateway with its state: live, test (the vendor's test mode) or off.

    Off: not listed in ``PAYMENT_GATEWAYS``, its module does not import, or its
    keys are not configured. Carries setting names, never their values.
    """
    listed = set(listed_gateway_names())
    states = []
    for name in GATEWAY_CLASSES:
        cls = gateway_class(name)
        configured = cls is not None and cls.is_configured()
        if name in listed and configured:
            state = "live" if _gateway_instance(name).mode() == "live" else "test"
        else:
            state = "off"
        states.append(GatewayState(
            name=name, label=str(cls.label) if cls is not None and cls.label else name,
            state=state, listed=name in listed, installed=cls is not None,
            configured=configured,
            saves_methods=bool(cls is not None and cls.supports_saved_methods),
            webhook_url=settings.SITE_URL + reverse("payments-webhook",
                                                    kwargs={"gateway": name}),
            missing_settings=gateway_missing_settings(name),
        ))
    return states
