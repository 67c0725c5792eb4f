"""/api/v1/engagements/<id>/checklist and /api/v1/checklist-items/<id>: prerequisites & co."""

from flask.views import MethodView

from tracker.api.common import (
    ETAG_HEADER,
    ID,
    IF_MATCH,
    Blueprint,
    actor,
    dump,
    expected_version,
    no_content,
    protected,
)
from tracker.schemas.checklist import (
    ChecklistItemSchema,
    ChecklistItemUpdateSchema,
    ChecklistItemWriteSchema,
    ChecklistMoveSchema,
    ChecklistQuerySchema,
    CompleteSchema,
    ReopenSchema,
)
from tracker.services.delivery import checklists

URL_PREFIX = ""
blp = protected(Blueprint("Checklists", __name__, description="Checklist items"))


@blp.route(f"/engagements/<{ID}:engagement_id>/checklist")
class Checklist(MethodView):
    @blp.arguments(ChecklistQuerySchema, location="query")
    @blp.response(200, ChecklistItemSchema(many=True))
    def get(self, args, engagement_id):
        """The engagement's checklist items, optionally one kind only."""
        return checklists.list_items(actor(), engagement_id, args.get("kind"))

    @blp.arguments(ChecklistItemWriteSchema)
    @blp.response(201, ChecklistItemSchema)
    def post(self, data, engagement_id):
        """Add an item by hand (client side)."""
        item = checklists.add_item(actor(), engagement_id, data)
        return dump(ChecklistItemSchema(), item, status=201)


@blp.route(f"/checklist-items/<{ID}:item_id>")
class ChecklistItemView(MethodView):
    @blp.arguments(ChecklistItemUpdateSchema)
    @blp.response(200, ChecklistItemSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def patch(self, data, item_id):
        """Change an item's title, owner, due date, note or evidence link."""
        item = checklists.update_item(actor(), item_id, data, expected_version())
        return dump(ChecklistItemSchema(), item, version=item.version)

    @blp.response(204)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def delete(self, item_id):
        """Remove an item added by hand (one bound to a fact stays: 422)."""
        checklists.remove_item(actor(), item_id, expected_version())
        return no_content()


@blp.route(f"/checklist-items/<{ID}:item_id>/move")
class MoveItem(MethodView):
    @blp.arguments(ChecklistMoveSchema)
    @blp.response(200, ChecklistItemSchema, headers=ETAG_HEADER)
    @blp.alt_response(412, response="PRECONDITION_FAILED")
    @blp.doc(parameters=[IF_MATCH])
    def post(self, data, item_id):
        """Move the item one place up or down within its checklist."""
        item = checklists.move_item(actor(), item_id, data["direction"], expected_version())
        return dump(ChecklistItemSchema(), item, version=item.version)


@blp.route(f"/checklist-items/<{ID}:item_id>/complete")
class CompleteItem(MethodView):
    @blp.arguments(CompleteSchema)
    @blp.response(200, ChecklistItemSchema)
    def post(self, data, item_id):
        """Mark the item done (or not applicable), with a note; doing it twice is harmless."""
        return checklists.complete_item(actor(), item_id, note=data["note"], status=data["status"])


@blp.route(f"/checklist-items/<{ID}:item_id>/reopen")
class ReopenItem(MethodView):
    @blp.arguments(ReopenSchema)
    @blp.response(200, ChecklistItemSchema)
    def post(self, data, item_id):
        """Put the item back to open; the note says why."""
        return checklists.reopen_item(actor(), item_id, note=data["note"])
