"""The bottom of the house: primitives every layer may use (the clock, claiming due rows)."""
