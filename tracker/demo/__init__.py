"""Demo and scale data: what `flask seed-demo` loads. Not used by the running application."""
