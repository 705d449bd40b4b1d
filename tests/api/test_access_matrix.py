"""Who may call what, for EVERY operation of the API.

The operations are read from the served OpenAPI document, so a new endpoint is in this
matrix the moment it exists:

- anonymous: 401 everywhere except the few public operations named here;
- another customer's object (any path with an id): 404, never 403, never the object;
- an operator key lacking the operation's scope: 403 ``insufficient_scope``; a customer's
  token or session on an operator operation: 401;
- a browser session on an unsafe method without the CSRF token: 403 ``csrf_failed``
  (and with the token the same call gets past the check).
"""

import re

import pytest
from django.test import Client

from simdesk.api.models import OperatorScope

pytestmark = pytest.mark.django_db

PUBLIC = {("get", "/api/v1/plans"), ("get", "/api/v1/plans/{code}")}
UNSAFE = {"post", "put", "patch", "delete"}
METHODS = UNSAFE | {"get"}


def load_operations():
    document = Client().get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                found.append((method, path, operation, components))
    return found


@pytest.fixture
def operations(db):
    found = load_operations()
    assert len(found) > 20
    return found


def schemes(operation) -> set[str]:
    return {name for requirement in operation.get("security") or [] for name in requirement}


def example(schema: dict, components: dict):
    """A small value the schema accepts (required properties only)."""
    if "$ref" in schema:
        return example(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example(options[0], components)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: example(schema["properties"][name], components)
                for name in schema.get("required", [])}
    if kind == "array":
        return [example(schema["items"], components)] * schema.get("minItems", 0)
    if kind == "integer":
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    return "x" * max(schema.get("minLength", 1), 1)


def call(client, method, path, operation, components, ids, **extra):
    """Call the operation on ``client`` with ``ids`` in the path and a body and required
    parameters the schema accepts."""
    names = re.findall(r"{(\w+)}", path)
    missing = [name for name in names if name not in ids]
    assert not missing, f"{method.upper()} {path}: give the world fixture a {missing}"
    url = path.format(**{name: ids[name] for name in names})
    headers = {}
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter.get("required") and parameter["in"] == "query":
            query[parameter["name"]] = example(parameter["schema"], components)
        if parameter["in"] == "header":
            headers["HTTP_" + parameter["name"].upper().replace("-", "_")] = "matrix-1"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        data = example(body["application/json"]["schema"], components)
        return getattr(client, method)(url, data, content_type="application/json",
                                       **headers, **extra)
    if "text/csv" in body:
        return getattr(client, method)(url, "iccid,claim_code\n", content_type="text/csv",
                                       **headers, **extra)
    return getattr(client, method)(url, **headers, **extra)


def label(method, path):
    return f"{method.upper()} {path}"


def test_only_the_named_operations_are_public(operations, world):
    public = set()
    for method, path, operation, components in operations:
        if not schemes(operation):
            public.add((method, path))
            continue
        response = call(Client(), method, path, operation, components, world.ids)
        assert response.status_code == 401, label(method, path)
        assert response.json()["code"] == "not_authenticated"
    assert public == PUBLIC


def test_another_customers_objects_are_404_on_every_object_endpoint(operations, world):
    alice = Client(HTTP_AUTHORIZATION=f"Bearer {world.alice_token}")
    checked = []
    for method, path, operation, components in operations:
        if "TokenAuth" not in schemes(operation) or "{" not in path:
            continue
        response = call(alice, method, path, operation, components, world.bob_ids)
        assert response.status_code == 404, (label(method, path), response.content)
        assert str(world.bob_ids[re.findall(r"{(\w+)}", path)[0]]) not in response.text
        checked.append(label(method, path))
    assert "GET /api/v1/cards/{card_id}" in checked
    assert "DELETE /api/v1/tokens/{token_id}" in checked


def test_the_same_calls_reach_alices_own_objects(operations, world):
    """The other side of the 404s: not a blanket refusal."""
    alice = Client(HTTP_AUTHORIZATION=f"Bearer {world.alice_token}")
    for method, path, operation, components in operations:
        if "TokenAuth" not in schemes(operation) or "{" not in path or method != "get":
            continue
        if path.endswith("/receipt"):  # alice's order is unpaid: no receipt yet
            continue
        response = call(alice, method, path, operation, components, world.ids)
        assert response.status_code == 200, (label(method, path), response.content)


def test_an_operator_key_without_the_scope_is_403(operations, world, now):
    from simdesk.api.keys import operator_key_create

    checked = 0
    for method, path, operation, components in operations:
        if "OperatorKeyAuth" not in schemes(operation):
            continue
        [scope] = next(iter(operation["security"]))["OperatorKeyAuth"]
        others = [s for s in OperatorScope.values if s != scope]
        _key, token = operator_key_create(name=f"all but {scope}", scopes=others,
                                          created_by=world.staff, now=now)
        response = call(Client(HTTP_AUTHORIZATION=f"Bearer {token}"), method, path,
                        operation, components, world.ids)
        assert response.status_code == 403, label(method, path)
        assert response.json()["code"] == "insufficient_scope"

        allowed = call(Client(HTTP_AUTHORIZATION=f"Bearer {world.scoped_tokens[scope]}"),
                       method, path, operation, components, world.ids)
        assert allowed.status_code not in {401, 403}, (label(method, path), allowed.content)
        checked += 1
    assert checked >= 5


def test_a_customer_is_refused_on_every_operator_operation(operations, world):
    token = Client(HTTP_AUTHORIZATION=f"Bearer {world.alice_token}")
    session = Client()
    session.force_login(world.alice)
    for method, path, operation, components in operations:
        if "OperatorKeyAuth" not in schemes(operation):
            continue
        for client in (token, session):
            response = call(client, method, path, operation, components, world.ids)
            assert response.status_code == 401, label(method, path)


def test_a_session_without_the_csrf_token_is_refused_on_every_unsafe_method(operations, world):
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    checked = []
    for method, path, operation, components in operations:
        if method not in UNSAFE or not schemes(operation):
            continue
        session = Client(enforce_csrf_checks=True)
        session.force_login(world.alice)
        response = call(session, method, path, operation, components, world.ids)
        if "SessionAuth" in schemes(operation):
            assert response.status_code == 403, label(method, path)
            assert response.json()["code"] == "csrf_failed"
            checked.append(label(method, path))
            # The same call with the token gets past the check.
            secret = _get_new_csrf_string()
            session.cookies["csrftoken"] = secret
            response = call(session, method, path, operation, components, world.ids,
                            HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret))
            assert response.status_code != 403, (label(method, path), response.content)
        else:  # operator operations take no session at all
            assert response.status_code == 401, label(method, path)
    assert "POST /api/v1/orders" in checked
    assert "DELETE /api/v1/tokens/{token_id}" in checked


def test_revoked_credentials_and_deactivated_customers_are_401_everywhere(operations, world, now):
    """A revoked personal token, a revoked operator key and the token of a customer whose
    account was deactivated open nothing, on any operation that takes credentials."""
    from simdesk.accounts.models import PersonalAccessToken
    from simdesk.accounts.tokens import token_create, token_revoke
    from simdesk.api.keys import operator_key_create, operator_key_revoke

    _alices, alice_plain = token_create(user=world.alice, name="revoked", now=now)
    token_revoke(user=world.alice, token_public_id=_alices.public_id, now=now)
    key, key_plain = operator_key_create(name="revoked", scopes=OperatorScope.values,
                                         created_by=world.staff, now=now)
    operator_key_revoke(key=key, now=now)
    bobs = PersonalAccessToken.objects.filter(user=world.bob, revoked_at__isnull=True).first()
    assert bobs is not None
    world.bob.is_active = False
    world.bob.save(update_fields=["is_active"])
    credentials = {"revoked token": alice_plain, "revoked key": key_plain,
                   "deactivated customer": world.bob_token}
    for method, path, operation, components in operations:
        if not schemes(operation):
            continue
        for what, plaintext in credentials.items():
            response = call(Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}"), method, path,
                            operation, components, world.ids)
            assert response.status_code == 401, (what, label(method, path))


def test_a_staff_session_is_not_an_operator_key(operations, world):
    """Operator operations take only an operator key: not even a staff member's session."""
    staff = Client()
    staff.force_login(world.staff)
    for method, path, operation, components in operations:
        if "OperatorKeyAuth" in schemes(operation):
            response = call(staff, method, path, operation, components, world.ids)
            assert response.status_code == 401, label(method, path)
