"""The OpenAPI document declares every refusal as it is sent: problem+json."""

import pytest
from django.test import Client

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(db):
    return Client().get("/api/v1/openapi.json").json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_it_declares_every_refusal_as_problem_json(document):
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (
                    method, path, status)
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/ProblemOut"}
    problem = document["components"]["schemas"]["ProblemOut"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}


def test_it_declares_429_with_retry_after_on_every_operation(document):
    for path, method, operation in operations(document):
        too_many = operation["responses"]["429"]
        assert too_many["headers"]["Retry-After"]["required"] is True, (method, path)


def test_it_declares_401_and_404_where_they_can_happen(document):
    for path, method, operation in operations(document):
        statuses = set(operation["responses"])
        if operation.get("security"):
            assert "401" in statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)


def test_it_names_the_scope_each_operator_operation_needs(document):
    from simdesk.api.models import OperatorScope

    operator = [(path, method, operation) for path, method, operation in operations(document)
                if path.startswith("/api/v1/operator/")]
    assert operator
    for path, method, operation in operator:
        [requirement] = operation["security"]
        [scope] = requirement["OperatorKeyAuth"]
        assert scope in OperatorScope.values, (method, path)
        assert "403" in operation["responses"]


def test_no_two_schemas_share_a_name():
    """The document names each schema by its class name, and a second class with the same
    name silently replaces the first for every operation that uses either."""
    from pydantic import BaseModel

    from simdesk.api.v1 import api

    # ninja's own per-operation wrappers around the parameters and the response.
    wrappers = {"NinjaResponseSchema", "PathParams", "QueryParams", "BodyParams",
                "HeaderParams", "CookieParams", "FormParams", "FileParams"}

    def models(annotation):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ not in wrappers:
                yield annotation
            for field in annotation.model_fields.values():
                yield from models(field.annotation)
        for argument in getattr(annotation, "__args__", ()):
            yield from models(argument)

    seen: dict[str, type] = {}
    for _op_id, operation in api.operations():
        roots = [*operation.response_models.values(), *operation.models]
        for model in (found for root in roots for found in models(root)):
            other = seen.setdefault(model.__name__, model)
            assert other is model, (f"two schemas are called {model.__name__}: in "
                                    f"{other.__module__} and {model.__module__}")
    assert "CardUsageOut" in seen
