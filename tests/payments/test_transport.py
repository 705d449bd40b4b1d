"""The default transport: the sandbox's webhook over real HTTP to a running simdesk."""

import pytest

from simdesk.payments.gateways.sandbox.transport import TransportError, UrllibTransport
from simdesk.payments.models import PaymentStatus


@pytest.mark.django_db(transaction=True)
def test_it_delivers_over_http_to_the_site_url(start, client, live_server, settings):
    # given simdesk answering on a real socket and the default (urllib) transport
    settings.SITE_URL = live_server.url
    settings.SANDBOX_WEBHOOK_TRANSPORT = (
        "simdesk.payments.gateways.sandbox.transport.UrllibTransport")
    payment, url = start()
    # when the customer pays on the sandbox page
    response = client.post(url, {"action": "pay", "card_number": "4242424242424242"})
    # then by the time the browser is sent back, the webhook went over HTTP and was applied
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED


def test_it_reports_no_answer_as_a_transport_error():
    with pytest.raises(TransportError):
        UrllibTransport().post(url="http://127.0.0.1:9/webhooks/sandbox/", body=b"{}",
                               headers={}, timeout=2)
    with pytest.raises(TransportError):
        UrllibTransport().post(url="file:///etc/passwd", body=b"{}", headers={}, timeout=2)
