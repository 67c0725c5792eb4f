"""Schemathesis over the change request operations only (issue 31): the whole-document run
(the CLI fuzz, scripts/api-fuzz.sh) covers them too; this one runs in seconds, in the
suite, with a request that exists."""

import pytest
import schemathesis
from schemathesis import GenerationMode

from tests.support.fuzz_in_process import fuzz_operation


@pytest.mark.parametrize("role", ["manager", "provider"])
def test_change_request_operations_survive_generated_input(app, world, role):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if "change-requests" in op.path or op.path.endswith("/drift")
    ]
    assert len(operations) == 7
    failures: list[str] = []
    ids = {"engagement_id": world.engagements["own"], "request_id": 1}
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        real = {k: v for k, v in ids.items() if k in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_ids in (None, real):
                fuzz_operation(operation, mode, headers, path_ids, failures)
    assert not failures, "\n\n".join(failures)
