"""Signing in: the ways a person proves who they are, how often they may try, and what
each attempt refuses or leaves behind.

- `password`: the sign-in form's email and password (and the browser's device cookie).
- `device`: signed device cookies, one entry per account that signed in on a browser.
- `throttle`: failure counters per device cookie, per account and per client address,
  and the rule every credential check follows: a valid credential is never refused
  because of other requests' failures (docs/adr/0193).
- OpenID Connect single sign-on: the flow with the provider (`oidc`, the module the pages
  call), which providers are configured (`sso_config`), who an identity is
  (`sso_accounts`) and the refusal every failed step ends in (`sso_refusal`).

May import models, auth, core, errors, extensions and the flat services `audit` and
`outbox`; never tracker.web or tracker.api, which call it (the pages read and set the
cookie).
"""
