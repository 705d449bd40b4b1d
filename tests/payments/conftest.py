import pytest


@pytest.fixture
def start(alice, now):
    """Start a sandbox payment of 9.99 USD for alice; returns (payment, pay page path)."""
    from simdesk.payments.services import payment_start

    def start_payment(key="order-1", *, customer=None, amount_minor=999, currency="USD",
                      save_method=False, return_url="/orders/1/"):
        return payment_start(customer=customer or alice, gateway="sandbox",
                             amount_minor=amount_minor, currency=currency,
                             reference=f"order:{key}", idempotency_key=key,
                             return_url=return_url, save_method=save_method, now=now)

    return start_payment
