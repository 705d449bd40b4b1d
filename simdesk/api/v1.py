"""REST API v1: ``/api/v1/``, documented at ``/api/v1/docs`` and ``/api/v1/openapi.json``.

Routers live next to their audience (``simdesk.api.customer``, …) and are added
here. The docs page uses ninja's bundled Swagger UI from our own static files,
never a CDN.
"""

from functools import partial

from ninja import NinjaAPI, Swagger

from .errors import method_not_allowed, register_error_handlers
from .inputs import refuse_nul_characters
from .openapi import document_refusals
from .ratelimit import CallerThrottle


class SimdeskAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_refusals(schema, scopes=self.operator_scopes())

    def operations(self):
        """Every (operation id, operation) served, as the routers bound them."""
        for bound_router in self._get_bound_routers():
            for path_view in bound_router.path_operations.values():
                for operation in path_view.operations:
                    yield (operation.operation_id
                           or self.get_openapi_operation_id(operation)), operation

    def _get_bound_routers(self):
        routers = super()._get_bound_routers()
        # ninja answers a method a path does not take with a plain-text 405; ours is a
        # problem document like every other refusal.
        for bound_router in routers:
            for path_view in bound_router.path_operations.values():
                path_view._not_allowed = partial(method_not_allowed, path_view)
        return routers

    def operator_scopes(self) -> dict[str, str]:
        """operationId → the operator scope it needs."""
        return {op_id: auth.scope for op_id, operation in self.operations()
                for auth in operation.auth_callbacks or [] if hasattr(auth, "scope")}


api = SimdeskAPI(
    title="simdesk API",
    version="1",
    description=(
        "Customer and operator API of simdesk. Authenticate with a personal access token "
        "(`Authorization: Bearer sdk_…`, created in account settings) or the browser session "
        "(unsafe methods need the CSRF token). An operator's systems use an operator API key "
        "(`Authorization: Bearer sdo_…`, issued by staff) holding the scope each operator "
        "operation names. Errors are RFC 9457 problem details (`application/problem+json`) "
        "with a stable `code`; `detail` follows the Accept-Language header; `errors` names "
        "each invalid field. Lists are cursor-paginated. Every call is rate limited: 429 "
        "with `Retry-After`."
    ),
    urls_namespace="api-v1",
    docs=Swagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    # Counts sessions and anonymous callers; tokens and keys are counted by their auth.
    throttle=CallerThrottle(),
)
register_error_handlers(api)
api.add_decorator(refuse_nul_characters)


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
