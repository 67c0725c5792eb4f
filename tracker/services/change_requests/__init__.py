"""Change requests (issue 31): the only path for contracted fields while a period runs.

What lives here:
- `rules`: asks the engagement's definition whether a kind of change needs a request in
  its current state, and refuses a direct edit with 409 `change_request_required`
  (called by the flat services that edit those fields: engagements, milestones, team,
  evidence.metrics).
- `fields`: the changeable fields (target, field) → change kind, how each reads its
  current value, parses its new value and applies it.
- `service`: raising, reading, approving (every change in one transaction, one audit
  entry, refused as stale when a `from` no longer holds), rejecting and withdrawing.
- `drift`: the one function adding up schedule slip and cost from approved requests
  since the trial began, and the engagements with the largest drift.

May import: tracker.models, tracker.auth, tracker.core, tracker.errors, tracker.extensions
and the flat services modules it names (audit, lifecycle, health, engagements). `rules`
imports only lifecycle and errors, so the flat services can import it without a cycle.
Nothing in tracker.web, tracker.api or tracker.notifications.
"""
