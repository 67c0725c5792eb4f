"""GET /api/v1/workflows: the workflow definitions a new engagement may run on.

Every signed-in user may read it: the names, titles and versions are what the
pages show anyone starting an engagement, and they say nothing about any one
engagement. How many engagements run on each version, and the malformed files,
are on the admin page (/admin/workflows) only.
"""

from flask.views import MethodView

from tracker.api.common import Blueprint, protected
from tracker.schemas.workflow import WorkflowListSchema
from tracker.services.workflow import workflow_registry

URL_PREFIX = "/workflows"
blp = protected(Blueprint("Workflows", __name__, description="Workflow definitions"))


@blp.route("")
class Workflows(MethodView):
    @blp.response(200, WorkflowListSchema)
    def get(self):
        """The workflows on offer (newest version of each), the default first; a workflow
        whose definition file is malformed is left out until it is fixed."""
        return {"items": workflow_registry.workflow_choices()}
