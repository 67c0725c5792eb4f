"""Handover proof: walk-away drills, the access register with second-person verification,
and the exit confirmations (issue 30; ADRs 0209 and 0210).

Lives here: `facts` (the rows turned into the workflow engine's plain facts, a constant
number of queries for any number of engagements), `drills`, `access` and `exits` (the
operations, each enforcing its permissions and committing once), `views` (what the pages
and digests read). May import: tracker.models, tracker.auth, tracker.errors,
tracker.extensions, tracker.core, the flat service modules it builds on (audit,
checklists, engagements, webhook_events, workflow_registry) and `workflows`.
Nothing outside this package imports its private helpers.
"""
