"""The customer's operations: their account, cards, plans and tokens."""

from ninja import Router

router = Router()

# Each module adds its operations to ``router`` when imported.
from . import cards, me, pause, plans, refunds, tokens  # noqa: E402,F401
