"""gunicorn settings for the ``web`` process.

Threads, not forks per request: an open websocket holds one thread for its whole life, so each
worker keeps a large pool (WEB_THREADS) and a handful of workers (WEB_CONCURRENCY) share the CPU.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "200"))
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (for gunicornc) would be written to $XDG_RUNTIME_DIR or ~/.gunicorn,
# outside the checkout, and shared by every gunicorn of the user (the tests' and make run's).
# Nothing here uses it.
control_socket_disable = True
