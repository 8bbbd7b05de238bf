"""The contact list's filters read from a query string (pages and API alike): what is no id is
ignored, never an error."""

import pytest

from app.blueprints.crm.records.queries import ListQuery


@pytest.mark.parametrize("raw", ["²", "٣", "99999999999999999999", "-1", "1.5"])
def test_a_list_filter_that_is_no_id_is_ignored_not_fatal(raw):
    query = ListQuery.from_args({"owner": raw, "company": raw, "stage": raw})
    assert (query.owner_id, query.company_id, query.stage_id) == (None, None, None)


def test_an_id_is_read():
    assert ListQuery.from_args({"owner": "42", "stage": "7"}).owner_id == 42
