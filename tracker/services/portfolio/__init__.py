"""The view across engagements: a provider's record, the portfolio's figures, hiring evaluations.

What lives here:
- `scope`: which engagements a figure is computed over (the viewer's visibility, the
  dashboard's filters) and who may open a provider's record (404 like a missing one).
- `sql_days`: day arithmetic that reads the same on SQLite and PostgreSQL.
- `record`: a provider organisation's record (engagements by state and outcome, milestones
  met and missed, on time and days late, staff changes, readiness at close, cost to date),
  each figure with the engagements behind it.
- `figures`: the portfolio: health over six months from the health history, spend per
  month against the monthly costs, trials started and ended per quarter.
- `hiring`: the "Evaluate hiring" checklist item after N months on one engagement, and
  cost to date against an in-house equivalent.

Every figure is aggregate SQL over the stored rows, read in a fixed number of statements
whatever the number of engagements (docs/adr/0221), as range reads on indexes where the
data is large (docs/adr/0234; the health history's `valid_until` is written by
services/judgments/health_history.py). Nothing is stored here except the hiring item.

May import: tracker.models, tracker.auth, tracker.core, tracker.errors, tracker.extensions
and the flat services modules it names (lifecycle, cost, engagement_list, checklists,
audit, workflow_registry, milestone_status). Nothing in tracker.web, tracker.api or
tracker.notifications.
"""
