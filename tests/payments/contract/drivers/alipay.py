"""Alipay as the contract suite drives it: against the local Alipay peer over real HTTP.

The peer (tests/payments/alipay/peer.py) checks simdesk's RSA2 signature on every
request and signs its notifies, returns and answers with its own key. The
customer's part runs through the Django test client (simdesk's pages, logged in
as the payment's customer) and a small HTTP browser (the peer's cashier).
Alipay payments are one-off: no saved methods.
"""

from urllib.parse import parse_qsl, urlencode

import pytest

from simdesk.core.money import decimal_string_to_minor
from tests.payments.alipay.peer import customer_at_alipay, settings_for, shared_peer, site_path

from .base import GatewayDriver, Webhook

FORM = "application/x-www-form-urlencoded"


class Driver(GatewayDriver):
    name = "alipay"
    saved_methods = False

    def configure(self, settings) -> None:
        self.peer = shared_peer()
        self.peer.reset()
        for name, value in settings_for(self.peer).items():
            setattr(settings, name, value)
        if self.name not in settings.PAYMENT_GATEWAYS:
            settings.PAYMENT_GATEWAYS = [*settings.PAYMENT_GATEWAYS, self.name]

    def customer_pays(self, client, payment, start: str, *, outcome: str) -> None:
        # The customer is at simdesk's checkout, logged in, when they choose Alipay.
        client.force_login(payment.customer)
        seen = customer_at_alipay(client, start, outcome=outcome)
        if seen.final is not None:
            assert seen.final.status_code == 302, seen.final.content.decode()[:500]

    def collect_webhooks(self) -> list[Webhook]:
        webhooks = []
        for url, body in self.peer.take_notifies():
            assert site_path(url) == f"/webhooks/{self.name}/", url
            webhooks.append((body, {"Content-Type": FORM}))
        return webhooks

    def tamper(self, body: bytes, headers: dict[str, str]) -> Webhook:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        params["total_amount"] = "0.01"
        return urlencode(params).encode(), headers

    def saved_method(self, customer, *, outcome: str) -> str:
        pytest.skip("Alipay payments are one-off: no saved methods")

    def charged_minor(self, payment) -> int:
        trade = self.peer.trade(payment.gateway_payment_id)
        if trade is None:
            pytest.fail(f"the Alipay peer has no trade {payment.gateway_payment_id}")
        return decimal_string_to_minor(trade.total_amount, trade.currency)
