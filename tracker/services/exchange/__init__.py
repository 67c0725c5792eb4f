"""Standard formats in and out: ADR files, iCalendar feeds, CSV exports.

Lives here: `adr_formats` (adr-tools, MADR, log4brains; pure text), `adr_exchange` (zip
export and all-or-nothing import), `calendar_feed` and `calendar_events` (RFC 5545),
`csv_export` (RFC 4180, `stream_csv` shared by the other exports).

May import: services.core, knowledge, read_model (the list rows exported), workflow,
milestone_status.
"""
