"""The web's routes, one module per area."""
