"""Signing in: the ways a person proves who they are, and what each way refuses.

Lives here: OpenID Connect single sign-on (oidc.py). May import tracker.auth, models,
core, errors, extensions and the other services (audit, users); never tracker.web or
tracker.api, which call it.
"""
