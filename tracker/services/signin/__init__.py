"""Signing in: who may try, how often, and what each attempt leaves behind.

- `password`: the sign-in form's email and password (and the browser's device cookie).
- `device`: signed device cookies, one entry per account that signed in on a browser.
- `throttle`: failure counters per device cookie, per account and per client address,
  and the rule every credential check follows: a valid credential is never refused
  because of other requests' failures (docs/adr/0193).

May import models, auth, core, errors, extensions and the flat services `audit` and
`outbox`; nothing here imports web or API code (the pages read and set the cookie).
"""
