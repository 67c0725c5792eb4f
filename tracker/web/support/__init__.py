"""What the page blueprints share and is not a blueprint: forms, Jinja filters, URL
converters, refusal-to-form helpers, the response hooks (security headers, compression,
static asset URLs, the admin area's guard) and the server-drawn pictures (health strip,
readiness bar, metric and cost charts, timeline) and the audit trail in words.

May import services, auth, schemas, models and the core, like the blueprints; never a
blueprint module (tracker.web.<blueprint>), so the blueprints depend on this, not back.
"""
