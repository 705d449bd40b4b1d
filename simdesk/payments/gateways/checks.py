"""System checks for the payment gateways (``simdesk check``; ``--deploy`` for production).

simdesk.W010 (deploy): the sandbox is enabled. It moves no money: anyone could buy
    plans with its test cards. List only real gateways in PAYMENT_GATEWAYS.
simdesk.W011 (deploy): no real gateway is enabled, so customers cannot pay.
simdesk.W012: PAYMENT_GATEWAYS names a gateway simdesk does not know (a typo).
"""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from . import GATEWAY_CLASSES, TEST_ONLY_GATEWAYS, enabled_gateway_names, gateway_missing_settings


@register(Tags.security, deploy=True)
def check_gateways_for_production(app_configs=None, **kwargs):
    enabled = enabled_gateway_names()
    problems = []
    for name in sorted(TEST_ONLY_GATEWAYS & set(enabled)):
        problems.append(Warning(
            f"The {name!r} payment gateway is enabled: it moves no money, so customers "
            "could get plans for free with its test cards.",
            hint="Remove it from PAYMENT_GATEWAYS (production leaves it out unless listed).",
            id="simdesk.W010"))
    if not set(enabled) - TEST_ONLY_GATEWAYS:
        missing = {name: gateway_missing_settings(name) for name in GATEWAY_CLASSES
                   if name not in TEST_ONLY_GATEWAYS}
        problems.append(Warning(
            "No real payment gateway is enabled: customers cannot pay.",
            hint="Set one gateway's keys and list it in PAYMENT_GATEWAYS. Missing: "
                 + "; ".join(f"{name}: {', '.join(names) or 'its module does not import'}"
                             for name, names in missing.items()),
            id="simdesk.W011"))
    return problems


@register()
def check_gateway_names(app_configs=None, **kwargs):
    unknown = [name for name in getattr(settings, "PAYMENT_GATEWAYS", [])
               if name not in GATEWAY_CLASSES]
    if not unknown:
        return []
    return [Warning(f"PAYMENT_GATEWAYS names unknown gateways: {', '.join(map(repr, unknown))}.",
                    hint=f"Known gateways: {', '.join(GATEWAY_CLASSES)}.", id="simdesk.W012")]
