"""CSV export of a filtered list, streamed."""
