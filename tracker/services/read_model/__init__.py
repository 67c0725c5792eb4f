"""The read model of engagements: list rows, dashboard rows, the page's reads, one engagement.

Lives here: `engagement_list` (filters, sort, paging, visibility and row facts for the
dashboard, the engagements page, GET /api/v1/engagements and the CSV exports),
`dashboard`, `engagement_page` (what the engagement page and its forms read, each in one
query; `engagement_view`, every fact of one engagement read once and judged once, ADR
0230), `engagement_queries` (one engagement or milestone for one user, its timeline, the
API detail's read).
Nothing here commits. Whatever takes an actor answers NotFound for what the actor may not
see, exactly as for what does not exist. The engagement page is assembled from these reads
in `tracker.web.overview` (SVG pictures and labels are the page's own).

May import: services.core, judgments (readiness read back), evidence reads, workflow
(lifecycle, the Subject's rows), the handover and knowledge reads of one engagement.
"""
