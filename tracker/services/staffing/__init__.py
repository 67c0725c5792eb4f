"""An engagement's own record: creating and editing it, its team, its cost, its standard checklists.

Lives here: `engagements` (create, edit), `team`, `cost` (cost to date, period
forecast), `checklist_templates`.

May import: services.core, and delivery/workflow for the checklist bindings and the
workflow a new engagement starts on.
"""
