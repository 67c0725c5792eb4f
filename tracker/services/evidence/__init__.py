"""Evidence for milestones: success metrics, targets, measurements, ingest tokens, judgment.

What lives here:
- `judgment`: the one pure function judging a target (met / not met / no data) and a
  milestone's suggested verdict, with reasons; no database, no Flask.
- `reads`: loading targets with their latest measurement for many milestones in a fixed
  number of queries, and series for charts and the scorecard.
- `metrics`: defining metrics and milestone targets (managers and admins), audited.
- `measurements`: recording measurements (one, or a batch of up to 1,000, idempotent),
  corrections that supersede, the CSV export.
- `ingest`: ingest tokens for pipelines (created, hashed, revoked, authenticated).

May import: tracker.models, tracker.auth, tracker.schemas, tracker.core, tracker.errors,
tracker.extensions, workflow.subjects (the metric and target rows a page reads once) and
the flat services modules it names (audit, csv_export, webhooks,
health). Nothing in tracker.web, tracker.api or tracker.notifications.
"""
