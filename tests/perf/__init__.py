"""Performance at scale: generated data, query counts per request."""
