"""The ``telegram`` process (``python -m workers.telegram``): see ``process.Runtime``."""
