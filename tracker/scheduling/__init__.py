"""The scheduler's one home: what triggers a tick, what a tick runs, and how rows are claimed.

- `trigger`: APScheduler as a trigger only (the `flask scheduler run` process and the
  thread `make run` embeds); `commands/scheduler.py` is the thin CLI over it.
- `tick`: one tick, which asks every step whether it has work and runs the ones that do.
- `steps`: the ordered registry of tick steps; each step is the imported function that
  does the work and the imported `pending` question, so an editor and import-linter can
  follow a tick to the SMTP send.
- `status`: what the scheduler did (each step's last run, backlog, failures) for /healthz
  and the outbox page.
- `claims`: claiming due rows with leases (`claim`, `drain`, `drain_batches`, `Heartbeat`,
  `stopping`), which the step functions in services/ and notifications/ use.

Imports (pyproject's layer contract, ADR 0214): `trigger`, `tick`, `steps` and `status`
sit above notifications/ and services/ (the steps are their functions); `claims` sits at
the bottom beside tracker.core, imports only the core, models and the session, and
imports nothing else from this package. This `__init__` imports nothing, so importing
`tracker.scheduling.claims` from a service loads no step.
"""
