"""The project's own schemathesis check (loaded through SCHEMATHESIS_HOOKS by ``run.py``).

Schemathesis' ``positive_data_acceptance`` expects a request generated from the document to be
accepted, but a schema cannot know the data: a stage id that names no stage, a phone that is not
one, are well formed and still refused (422, code ``invalid``). So that check is told a 422 may
answer such a request (``schemathesis.toml``), and this one holds the part a schema does decide:
the API's contract check (``app/api/validation.py``) must never refuse, as ``invalid_request``,
a request schemathesis generated as valid from the same document. If it does, the document and
the validation disagree.
"""

import ast
import threading

import schemathesis

from app.api.validation import INVALID_REQUEST

# Python 3.11.7's ast.parse is not safe in threads ("AST constructor recursion depth mismatch" when
# two parse at once: cpython gh-106905, fixed in later releases), and schemathesis' workers
# parse generated source concurrently in the coverage phase; one parse at a time in this process.
_parse, _parsing = ast.parse, threading.RLock()


def _parse_alone(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone


@schemathesis.check
def valid_requests_pass_the_contract(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None  # another check reports a body that is not the envelope
    if code == INVALID_REQUEST:
        raise AssertionError(f"A request valid by the document was refused as outside it: {response.text}")
    return None
