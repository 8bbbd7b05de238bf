"""Process entry points outside the web server: the RQ worker, the clock, the telegram process."""
