"""Feature-spanning journeys: whole flows through several layers (no single module owns them)."""
