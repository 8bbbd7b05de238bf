"""Process entry points outside the web server: the RQ worker (and later the telegram process)."""
