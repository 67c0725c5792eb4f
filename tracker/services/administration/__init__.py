"""Accounts and organisations, as admins and owners manage them.

Lives here: `users` (users, organisations, API tokens), `user_admin` (invite, edit,
deactivate, the last admin), `password_links` (set-password links), `providers`.
Signing in is its own package, `services/signin`.

May import: services.core, messaging.outbox, signin.
"""
