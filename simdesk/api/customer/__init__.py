"""The customer's operations: their account, cards, plans and tokens."""

from ninja import Router

router = Router()

from . import me  # noqa: E402,F401  (operations register themselves on the router)
