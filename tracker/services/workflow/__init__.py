"""The lifecycle: what a state means, transitions, timers, holds, reminders, definition versions.

Lives here: `lifecycle` (state meaning read from the definition), `transitions`,
`workflow_actions`, `workflow_registry` (loading and recording definitions),
`workflow_migration`, `timers`, `holds`, `subjects` (rows to the engine's Subject),
`reminder_planning` (the [[reminders]] rules, a flush listener).

May import: services.core, the pure `workflows` engine, judgments (health after a
transition is named at the commit), messaging (webhook events), handover facts.
"""
