"""Email rendering, the outbox, reminders and digests."""
