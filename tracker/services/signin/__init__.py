"""Signing in: the ways a person proves who they are, and what each way refuses.

Lives here: OpenID Connect single sign-on — the flow with the provider (oidc.py, the
module the pages call), which providers are configured (sso_config.py), who an identity
is (sso_accounts.py) and the refusal every failed step ends in (sso_refusal.py). May
import tracker.auth, models, core, errors, extensions and the audit service; never
tracker.web or tracker.api, which call it.
"""
