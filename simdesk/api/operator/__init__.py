"""The operator's operations (``/api/v1/operator/…``): API keys with scopes, managed by staff."""

from ninja import Router

from .cards import router as cards_router
from .orders import router as orders_router
from .plans import router as plans_router
from .usage import router as usage_router

router = Router(tags=["operator"])
router.add_router("", cards_router)
router.add_router("", orders_router)
router.add_router("", usage_router)
router.add_router("", plans_router)
