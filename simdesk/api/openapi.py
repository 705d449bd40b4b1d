"""The OpenAPI document says every refusal an operation can give, as it is sent.

ninja documents responses as ``application/json``; refusals are sent as
``application/problem+json`` (RFC 9457). ``document_refusals`` rewrites each error
response to that media type and the ``ProblemOut`` schema, and adds the refusals
the framework itself gives, so no operation can forget them:

- 400 ``invalid_request``: an operation that takes a body, query or header parameters;
- 401 ``not_authenticated``: an operation that needs credentials;
- 403: an operator operation (the key lacks the scope) and an unsafe method a
  browser session may call (the CSRF check);
- 404: a path with an id in it;
- 429 ``rate_limited`` with ``Retry-After``: every operation (see ``ratelimit``).

Refusals a service gives (409 for a conflict, 404 for an unknown plan in a body, …)
are declared by the operation with ``problem_responses``. Operator operations also
name the scope they need in their security requirement.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from .errors import PROBLEM_CONTENT_TYPE, ProblemOut

PROBLEM_REF = "#/components/schemas/ProblemOut"
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
SESSION_SCHEME = "SessionAuth"
OPERATOR_SCHEME = "OperatorKeyAuth"


def _descriptions() -> dict[int, Any]:
    return {
        400: _("Invalid request: `errors` names each invalid field."),
        401: _("No valid credentials."),
        403: _("Not allowed: a missing scope, or a session request without its CSRF token."),
        404: _("Not found (or not yours)."),
        409: _("Conflicts with the current state."),
        413: _("The request body is too large."),
        422: _("Understood but refused."),
        429: _("Too many requests: wait for `Retry-After` seconds."),
    }


def _problem_response(status: int, description: str | None = None) -> dict:
    response: dict = {
        "description": str(description or _descriptions().get(status, _("Refused."))),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
    }
    if status == 429:
        response["headers"] = {"Retry-After": {
            "required": True, "schema": {"type": "integer", "minimum": 1},
            "description": str(_("Seconds to wait before the next request."))}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {
            "required": True, "schema": {"type": "string"}}}
    return response


def implied_refusals(*, path: str, method: str, operation: dict) -> set[int]:
    """The statuses the framework can answer for ``operation`` whatever it does."""
    statuses = {429}
    parameters = operation.get("parameters", [])
    if operation.get("requestBody") or any(p.get("in") != "path" for p in parameters):
        statuses.add(400)
    schemes = {name for requirement in operation.get("security") or [] for name in requirement}
    if schemes:
        statuses.add(401)
    if OPERATOR_SCHEME in schemes or (SESSION_SCHEME in schemes and method in UNSAFE_METHODS):
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    return statuses


def document_refusals(schema: dict, *, scopes: dict[str, str]) -> dict:
    """Rewrite ``schema`` (ninja's document) in place: see the module docstring.
    ``scopes`` maps an operationId to the operator scope it needs."""
    schema.setdefault("components", {}).setdefault("schemas", {})
    defs = ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}")
    schema["components"]["schemas"].update(defs.pop("$defs", {}))
    schema["components"]["schemas"]["ProblemOut"] = defs
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            declared = {int(status) for status in responses if int(status) >= 400}
            for status in sorted(declared | implied_refusals(path=path, method=method,
                                                             operation=operation)):
                responses[status] = _problem_response(status)
            scope = scopes.get(operation.get("operationId", ""))
            if scope:
                operation["security"] = [{OPERATOR_SCHEME: [scope]}]
    return schema
