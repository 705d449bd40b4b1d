"""localstripe as the Stripe tests run it: ``python peer.py --port N``.

localstripe 1.15.10 is the Stripe peer; this launcher runs its own aiohttp app
with these differences from running ``localstripe`` itself, each one bringing
it closer to what Stripe documents (and none of them deciding an outcome):

- it listens on 127.0.0.1 only (localstripe binds every interface) and keeps
  its state in memory (localstripe shares one pickle in the temp directory
  with every other localstripe on the machine);
- ``Idempotency-Key`` is honoured as Stripe does: a POST repeated with the same
  key gets the first answer again (``Idempotent-Replayed: true``) and does
  nothing; the same key with other parameters is an ``idempotency_error``; a
  request refused before it ran (401, 400, 404) is not remembered.
  localstripe ignores the header;
- PaymentIntents accept ``setup_future_usage``, ``description`` and, on
  create and confirm, ``return_url`` (localstripe answers 400 "Unexpected"
  to them). ``setup_future_usage`` does what Stripe documents: when the
  payment succeeds, the payment method is attached to the intent's customer;
- a declined confirmation answers like Stripe's card errors: 402 with
  ``type: card_error``, ``decline_code`` and the ``payment_intent`` in the
  error (localstripe sends ``invalid_request_error`` without the intent).

What the tests read of the peer itself: ``GET /_config/requests`` lists every
POST to ``/v1/…`` as ``{"method", "path", "idempotency_key", "replayed"}``;
``DELETE /_config/data`` (localstripe's reset) also forgets those and the
idempotency records.
"""

import argparse

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

# --- State in memory only ------------------------------------------------------------------

resources.Store.try_load_from_disk = lambda self: None
resources.Store.dump_to_disk = lambda self: None

# --- PaymentIntent parameters Stripe documents and localstripe rejects -----------------------

PaymentIntent = resources.PaymentIntent
_pi_init = PaymentIntent.__init__
_pi_on_success = PaymentIntent._on_success
_pi_api_confirm = PaymentIntent._api_confirm.__func__


def _pi_init_with_documented_params(self, setup_future_usage=None, description=None,
                                    return_url=None, **kwargs):
    if setup_future_usage not in (None, "", "on_session", "off_session"):
        raise UserError(400, "Invalid setup_future_usage")
    _pi_init(self, **kwargs)
    self.setup_future_usage = setup_future_usage or None
    self.description = description
    self._return_url = return_url


def _pi_on_success_saving_the_method(self):
    if self.setup_future_usage and self.customer and self.payment_method:
        method = resources.PaymentMethod._api_retrieve(self.payment_method)
        method.customer = self.customer
    _pi_on_success(self)


def _pi_confirm_with_return_url(cls, id, return_url=None, **kwargs):
    obj = cls._api_retrieve(id)
    if return_url is not None:
        obj._return_url = return_url
    return _pi_api_confirm(cls, id, **kwargs)


def _pi_report_failure_as_a_card_error(self):
    resources.schedule_webhook(resources.Event("payment_intent.payment_failed", self))
    charge = self.latest_charge
    error = UserError(402, charge.failure_message,
                      {"code": charge.failure_code, "decline_code": "generic_decline",
                       "charge": charge.id, "payment_intent": self._export()})
    error.body["error"]["type"] = "card_error"
    raise error


PaymentIntent.__init__ = _pi_init_with_documented_params
PaymentIntent._on_success = _pi_on_success_saving_the_method
PaymentIntent._api_confirm = classmethod(_pi_confirm_with_return_url)
PaymentIntent._report_failure = _pi_report_failure_as_a_card_error
# The confirm route was bound to the original function when localstripe was imported.
for route in server.app.router.routes():
    if route.method == "POST" and route.resource.canonical == "/v1/payment_intents/{id}/confirm":
        route._handler = server.api_extra(PaymentIntent._api_confirm,
                                          "/v1/payment_intents/{id}/confirm")

# --- Idempotency-Key, and a log of what was asked ---------------------------------------------

_replies: dict[str, tuple[str, bytes, int, bytes]] = {}
_requests: list[dict] = []


@web.middleware
async def idempotency(request, handler):
    if request.method == "DELETE" and request.path == "/_config/data":
        _replies.clear()
        _requests.clear()
    if request.method != "POST" or not request.path.startswith("/v1/"):
        return await handler(request)
    key = request.headers.get("Idempotency-Key", "")
    body = await request.read()
    entry = {"method": request.method, "path": request.path, "idempotency_key": key,
             "replayed": False}
    _requests.append(entry)
    if key and key in _replies:
        path, params, status, reply = _replies[key]
        if (path, params) != (request.path, body):
            return web.json_response({"error": {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same "
                           "parameters they were first used with."}}, status=400)
        entry["replayed"] = True
        return web.Response(body=reply, status=status, content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    response = await handler(request)
    # Stripe keeps the result of a request that ran (a success or a card error), not of one
    # refused before running (bad key, failed validation) or that failed on its side.
    if key and response.status in (200, 402):
        _replies[key] = (request.path, body, response.status, response.body)
    return response


async def requests_seen(request):
    return web.json_response(_requests)


server.app.middlewares.insert(0, idempotency)
server.app.router.add_get("/_config/requests", requests_seen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(server.app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
