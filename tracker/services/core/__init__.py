"""The shared core every services package stands on: the unit of work, the audit trail, plumbing.

Lives here: `people` (the page of people every picker suggests; what a picked label names),
`transactions` (`commit_and_derive`, the one commit of every service;
`losing_race_is_conflict`; `check_version`), `audit` (writing audit rows, never
committing) and `system` (the database probe, dropping a unit of work).

May import: models, schemas, auth, errors, extensions, tracker.core. Never another services
package (an import-linter contract), so every package may import it without a circle.
"""
