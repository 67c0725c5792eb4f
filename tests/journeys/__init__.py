"""Feature-spanning journeys: whole flows through several layers (no single module owns
them; see README.md here for what belongs in this folder and what does not)."""
