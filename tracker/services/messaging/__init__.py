"""What leaves the application about a change: emails, webhooks, digest subscriptions.

Lives here: `outbox` (an email is a row in the causing transaction), `outbox_admin`,
`webhooks` (Standard Webhooks endpoints and events), `webhook_events` (which changes become
events; a flush listener), `subscriptions` and `digest_period`. Sending is
`tracker.notifications`, which the scheduler drives.

May import: services.core (the access summary an event carries is built here, from the
models, so handover imports messaging and never the other way round).
"""
