"""Knowledge retention: architecture decision records, artifacts, shadow assignments.

Lives here: `adrs` (numbering, drafts, supersede links), `artifacts`, `shadows`.
ADR files in and out are exchange formats (`services/exchange`).

May import: services.core, delivery (checklists an artifact satisfies).
"""
