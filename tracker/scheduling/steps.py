"""The tick's steps, in order: each is the function that does the work and its `pending`.

Add a step by importing its module here and adding one line to TICK_STEPS (e.g. digests
between reminders and delivery, so the digests built in a tick are delivered in it). The
step's module holds the function that does the work, `function(now) -> count`, and
`pending(now, midnight)`, the SQL truth value "there is work for it" (the EXISTS of what
the function would claim), given the tick's instant and the start of its UTC day as
bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from tracker.core import clock
from tracker.notifications import delivery, digests, reminder_delivery, webhook_delivery
from tracker.services.judgments import engagement_counts, health
from tracker.services.portfolio import hiring
from tracker.services.workflow import timers


class Step(NamedTuple):
    """A tick step: `work(now) -> count` and `pending(now, midnight)` (see the module's
    docstring). A step that sends (`sends_queued`) counts everything queued earlier in
    this tick as due: it was queued after the tick's `now`."""

    name: str
    work: Callable[[datetime], int]
    pending: Callable
    sends_queued: bool = False

    def run(self, now: datetime) -> int:
        return self.work(max(now, clock.now()) if self.sends_queued else now)


# Order matters: timers first (a transition may plan reminders), then reminders (they
# queue email), health before digests (they show it) and before the counts (its refresh
# adds to their ledger), webhooks before email (an endpoint disabled in this tick mails
# its admin in it), then delivery sends the outbox.
TICK_STEPS: list[Step] = [
    Step("timers", timers.fire_due_timers, timers.pending),
    Step("reminders", reminder_delivery.process_due, reminder_delivery.pending),
    Step("health", health.refresh_due, health.pending),
    Step("counts", engagement_counts.fold, engagement_counts.pending),
    Step("hiring", hiring.open_due_evaluations, hiring.pending),
    Step("digests", digests.tick_step, digests.pending),
    Step("webhooks", webhook_delivery.deliver_due, webhook_delivery.pending, sends_queued=True),
    Step("delivery", delivery.deliver_due, delivery.pending, sends_queued=True),
]
# The steps that talk to other servers. `flask scheduler run` runs them in their own
# APScheduler job and thread (ADR 0161), so a hung SMTP server or webhook endpoint
# never delays timers, reminders, health or digests; `flask scheduler tick` runs all.
WIRE_STEPS = frozenset({"webhooks", "delivery"})
