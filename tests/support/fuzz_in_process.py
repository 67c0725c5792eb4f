"""Schemathesis in-process, against the WSGI app, for a test that fuzzes a few operations.

The whole document is fuzzed over HTTP by the CLI (scripts/api-fuzz.sh, every role, with
random and with real ids, every check; ADR 0247). A test that wants a handful of
operations fuzzed in seconds, with rows of its own (tests/api/test_change_requests_fuzz.py)
drives them through the Python API: `operation.as_strategy(mode)` -> hypothesis.
schemathesis 4's pytest loader (`from_fixture`) does not work with pytest 9 (it reads
`node._nodeid`).

Checks: no 5xx; status code, content type, headers and body conform to the document;
invalid input is refused with a 4xx. `positive_data_acceptance` is left out on purpose:
schema-valid input still meets business rules (a random id is a 404, unmet guards a 409).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
MAX_EXAMPLES = 6
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz_operation(operation, mode, headers, path_parameters, failures: list[str]) -> None:
    """Fuzz one operation in one mode; append what failed, with the operation's label."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
        failures.append(f"{operation.label} [{mode.value}, ids={path_parameters}]: {_text(exc)}")


def _text(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(_text(inner) for inner in exc.exceptions)
    if not str(exc) and exc.__cause__ is not None:  # hypothesis wraps a BaseException
        return f"{type(exc).__name__} of {_text(exc.__cause__)}"
    return f"{type(exc).__name__}: {exc}"[:2000]
