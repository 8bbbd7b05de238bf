"""Checks of the code's shape that linters run (not imported by the app)."""
