"""The deployment's whole audit trail, taken away: CSV and JSON Lines, filtered, streamed.

- `export`: the filters (`AuditFilter`, checked here so pages and API refuse the same
  input), the one query, and the two streamed formats.

May import models, auth, core, errors, extensions, services.core (people_page) and the flat
`csv_export` service (its formula neutralisation and CSV writer); nothing here imports web
or API code.
"""
