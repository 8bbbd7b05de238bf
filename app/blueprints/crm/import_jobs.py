"""Where RQ finds ``run_import`` for jobs queued before the job moved to ``crm.importing.jobs``.

RQ stores a job by its function's dotted path, so jobs already queued (or retried) when a release
that moved the module starts still name this one. Remove in the release after 2026-12.
"""

from app.blueprints.crm.importing.jobs import run_import

__all__ = ["run_import"]
