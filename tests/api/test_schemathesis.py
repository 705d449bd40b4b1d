"""schemathesis over every operation of /api/v1/openapi.json, against the app in-process,
with real credentials: no 5xx, and every answer matches the document (status code,
content type, headers and body).

Customer operations are called with alice's personal access token, operator operations
with an operator key holding every scope. Half of the generated ids are swapped for ids
of real objects of alice's (chosen from the generated value, so a failure replays), so
the operations' success paths are exercised as well as their refusals.
"""

import os
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection,
          unsupported_method]
# Enough to meet every refusal of every operation; the whole run stays around a minute
# on two cores (it runs on SQLite and on PostgreSQL in CI), and the same examples every
# time, so a run fails for a change, not for luck. SCHEMATHESIS_EXAMPLES=500 searches
# deeper with fresh random examples, for a developer hunting bugs.
DEEP = int(os.environ.get("SCHEMATHESIS_EXAMPLES") or 0)
MAX_EXAMPLES = DEEP or 25


def _load_schema():
    from config.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    # The test sends real credentials itself (below), rather than generated ones.
    loaded.config.generation.update(with_security_parameters=False)
    return loaded


# Loaded when the module is collected: one test per operation. (The lazy
# ``schemathesis.pytest.from_fixture`` loader does not run on this pytest.)
schema = _load_schema()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI app is called directly (not through Django's test client), so its
    end-of-request handler would close the database connection that holds the test's
    transaction. Django's test client switches that off in the same way."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    # The fuzzer makes hundreds of calls with one token; the limits have their own tests.
    settings.API_RATE_LIMIT = "off"
    settings.API_ANONYMOUS_RATE_LIMIT = "off"


def credentials(case, world) -> dict[str, str]:
    security = case.operation.definition.raw.get("security") or []
    schemes = {name for requirement in security for name in requirement}
    if "OperatorKeyAuth" in schemes:
        return {"Authorization": f"Bearer {world.operator_token}"}
    if "TokenAuth" in schemes:
        return {"Authorization": f"Bearer {world.alice_token}"}
    return {}


def use_real_ids(case, world) -> None:
    for name, value in list((case.path_parameters or {}).items()):
        if name in world.ids and zlib.crc32(str(value).encode()) % 2 == 0:
            case.path_parameters[name] = str(world.ids[name])


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=not DEEP, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, world):
    use_real_ids(case, world)
    case.call_and_validate(headers=credentials(case, world), checks=CHECKS)
