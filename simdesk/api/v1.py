"""REST API v1: ``/api/v1/``, documented at ``/api/v1/docs`` and ``/api/v1/openapi.json``.

Routers live next to their audience (``simdesk.api.customer``, …) and are added
here. The docs page uses ninja's bundled Swagger UI from our own static files,
never a CDN.
"""

from ninja import NinjaAPI, Swagger

from .errors import register_error_handlers

api = NinjaAPI(
    title="simdesk API",
    version="1",
    description=(
        "Customer and operator API of simdesk. Authenticate with a personal access token "
        "(`Authorization: Bearer sdk_…`, created in account settings) or the browser session "
        "(unsafe methods need the CSRF token). Errors are RFC 9457 problem details with a "
        "stable `code`; `detail` follows the Accept-Language header. Lists are cursor-paginated."
    ),
    urls_namespace="api-v1",
    docs=Swagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
register_error_handlers(api)


def _add_routers() -> None:
    from .customer import router as customer_router
    from .customer.orders import router as orders_router
    from .customer.renewals import router as renewals_router
    from .operator import router as operator_router

    api.add_router("", customer_router)
    api.add_router("", orders_router)
    api.add_router("", renewals_router)
    api.add_router("", operator_router)


_add_routers()
