"""Judgments of an engagement: health (red/amber/green with reasons), its history, readiness.

Lives here: `health` (`compute_health`, the only place that judges health; refresh and
the scheduler's catch-up), its rules by family (`health_milestones`: milestones, the
period, a hold; `health_evidence`: targets and measurements; `health_obligations`:
checklist items, open access, drift; `health_reasons`: a reason's shape and the levels),
`health_facts` (what health reads, and which written rows are those facts),
`health_history` (the one writer of health_change rows),
`readiness` (the knowledge-retention score, a flush listener).

May import: services.core, evidence (judged targets), handover facts, workflow.lifecycle.
"""
