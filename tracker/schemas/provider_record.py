"""The provider record as the API answers it (GET /api/v1/providers/{id}/record).

Each figure carries the ids of the engagements behind it. `cost_to_date` is left out of
the answer for who may not see cost (providers, stakeholders), as the engagement's cost
fields are.
"""

from __future__ import annotations

from marshmallow import Schema, fields, post_dump

from tracker.schemas.common import ProviderRefSchema


class RecordFigureSchema(Schema):
    key = fields.String(metadata={"description": "Stable name of the figure"})
    label = fields.String()
    count = fields.Integer(
        metadata={"description": "What is counted: engagements, milestones or members"}
    )
    engagement_ids = fields.List(
        fields.Integer(), metadata={"description": "The engagements behind the figure"}
    )


class RecordCostSchema(Schema):
    currency = fields.String()
    amount = fields.Decimal(as_string=True)


class ProviderRecordSchema(Schema):
    provider = fields.Nested(ProviderRefSchema)
    as_of = fields.Date(attribute="today")
    engagements = fields.Nested(RecordFigureSchema)
    by_state = fields.List(fields.Nested(RecordFigureSchema))
    trial_pass_rate = fields.Float(
        allow_none=True, metadata={"description": "Trial milestones met of those with a verdict"}
    )
    trial_met = fields.Nested(RecordFigureSchema)
    trial_missed = fields.Nested(RecordFigureSchema)
    verdict_agrees = fields.Nested(RecordFigureSchema)
    verdict_differs = fields.Nested(RecordFigureSchema)
    on_time_rate = fields.Float(allow_none=True)
    on_time = fields.Nested(RecordFigureSchema)
    late = fields.Nested(RecordFigureSchema)
    median_days_late = fields.Float(allow_none=True)
    staff_changes = fields.Nested(RecordFigureSchema)
    readiness_at_close = fields.Float(allow_none=True)
    closed_with_readiness = fields.Nested(RecordFigureSchema)
    cost_to_date = fields.Method(
        "_cost",
        metadata={"description": "Per currency; absent for who may not see cost"},
    )
    change_requests = fields.Nested(
        RecordFigureSchema, metadata={"description": "Approved change requests"}
    )
    change_request_cost = fields.Method(
        "_change_request_cost",
        metadata={
            "description": "What approved change requests added to the total cost, per "
            "currency; absent for who may not see cost"
        },
    )

    def _change_request_cost(self, record):
        if record.change_request_cost is None:
            return None
        return RecordCostSchema(many=True).dump(
            [{"currency": c, "amount": a} for c, a in record.change_request_cost.items()]
        )

    def _cost(self, record):
        if record.cost_to_date is None:
            return None
        return RecordCostSchema(many=True).dump(
            [{"currency": c, "amount": a} for c, a in record.cost_to_date.items()]
        )

    @post_dump
    def _hide_cost(self, data, **kwargs):
        for key in ("cost_to_date", "change_request_cost"):
            if data.get(key) is None:
                data.pop(key, None)
        return data
