"""Where RQ finds ``run_bulk`` for jobs queued before the job moved to ``crm.bulk.jobs``.

RQ stores a job by its function's dotted path, so jobs already queued (or retried) when a release
that moved the module starts still name this one. Remove in the release after 2026-12.
"""

from app.blueprints.crm.bulk.jobs import run_bulk

__all__ = ["run_bulk"]
