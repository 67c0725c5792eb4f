"""The work an engagement tracks: milestones with the provider's updates, and checklist items.

Lives here: `milestones`, `checklists`. Their evidence is the sibling package
`services/evidence`, and how a milestone's status reads is `services/milestone_status`.

May import: services.core, evidence, milestone_status, handover (revocation items),
workflow (definitions, subjects). Health follows at the commit, `commit_and_derive()`, like
every derived value (services/derived.py).
"""
