"""Judgments of an engagement: health (red/amber/green with reasons), its history, readiness.

Lives here: `health` (`compute_health`, the only place that judges health; refresh and
the scheduler's catch-up), `health_history` (the one writer of health_change rows),
`readiness` (the knowledge-retention score, a flush listener).

May import: services.core, evidence (judged targets), handover facts, workflow.lifecycle.
"""
