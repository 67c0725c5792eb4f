"""Business operations: the only layer that commits."""
