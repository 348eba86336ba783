"""Schema-driven fuzzing: every operation in our OpenAPI document, with generated valid
(positive) and invalid (negative) input, must never answer 5xx; answers must be
documented and match their schema, and invalid input must be refused with a 4xx."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

from tests.support.app import VARIANTS

EXAMPLES_PER_OPERATION_AND_MODE = 20


@pytest.fixture
def fuzz_user(make_user):
    # Plenty of credits on the top tier, so generated requests can pass every check.
    return make_user(credits=1_000_000, tier="pro")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_server_errors(app, fuzz_user, mode):
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    assert len(operations) >= 20

    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)  # invalid input must get a 4xx

    for operation in operations:
        inputs = (operation.path_parameters, operation.query, operation.headers, operation.body)
        if mode is GenerationMode.NEGATIVE and not any(len(part) for part in inputs):
            continue  # nothing to get wrong

        @given(case=operation.as_strategy(mode), known=st.booleans())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def never_a_server_error(case, known: bool) -> None:
            # Random strings almost never name a real model or product: half of the time,
            # name one, so the deeper paths (debit, enqueue, checkout) are fuzzed too.
            if mode is GenerationMode.POSITIVE and known and isinstance(case.body, dict):
                if "model" in case.body:
                    case.body["model"] = "tiny-sd"
                if "variant" in case.body:
                    case.body["variant"] = sorted(VARIANTS)[uuid.uuid4().int % len(VARIANTS)]
            # The OpenAPI document declares the bearer scheme, so generated cases carry
            # an Authorization header (random): it becomes a valid token, except where a
            # negative case left it out on purpose (that one must get its 401).
            generated = {name.lower() for name in case.headers or {}}
            keep_out = mode is GenerationMode.NEGATIVE and "authorization" not in generated
            case.call_and_validate(
                headers={} if keep_out else fuzz_user.headers,
                checks=checks,
            )

        never_a_server_error()
