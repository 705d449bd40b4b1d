"""The contract suite runs once per gateway, each through its driver (``drivers/<name>.py``).

A vendor whose driver is not written yet is skipped, with the reason; once every
driver exists, every gateway must pass every contract test.
"""

import importlib
import importlib.util

import pytest

GATEWAYS = ["sandbox", "stripe", "paypal", "alipay"]


def load_driver(name: str):
    module_name = f"tests.payments.contract.drivers.{name}"
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"no contract driver for {name} yet ({module_name})")
    return importlib.import_module(module_name).Driver()


@pytest.fixture(params=GATEWAYS)
def driver(request, settings):
    """The gateway under test, configured against its peer (``settings`` point at it)."""
    driver = load_driver(request.param)
    driver.configure(settings)
    return driver
