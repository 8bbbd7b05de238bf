"""The RQ job that runs a CSV import (queue ``imports``), committing after every batch."""

from __future__ import annotations

import logging

from flask_babel import gettext as _

from app.blueprints.crm import importing
from app.errors import DomainError
from app.extensions import db

log = logging.getLogger(__name__)


def run_import(import_id: int) -> None:
    """Run import ``import_id``; progress is visible to pages as each batch commits.

    A refusal (DomainError) marks the import failed with its message; anything else marks it failed
    with a general message and is raised again, so the worker records the traceback too. Either is
    kept in every language of the interface, and read in the viewer's.
    """
    try:
        for _batch in importing.import_batches(import_id):
            db.session.commit()
    except DomainError as err:
        db.session.rollback()
        importing.fail_import(import_id, importing.refusal(import_id, err))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("import %s failed", import_id)
        importing.fail_import(import_id, lambda: _("The import stopped because of an error on our side. "
                                                   "Rows already imported are kept; run it again to finish."))
        db.session.commit()
        raise
