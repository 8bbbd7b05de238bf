from app.blueprints.crm.records import queries
from app.blueprints.crm.records.queries import ListQuery
from tests.factories import make_contact, make_member


def test_a_search_counts_only_up_to_the_limit_and_says_there_are_more():
    owner = make_member()
    for n in range(5):
        make_contact(owner, first_name="Annie", last_name=f"Lee {n}")
    page = queries.list_records(owner.org_id, "contact", ListQuery(q="annie", per_page=2), count_limit=3)
    assert (page.total, page.capped, len(page.items)) == (3, True, 2)
    exact = queries.list_records(owner.org_id, "contact", ListQuery(q="annie", per_page=2))
    assert (exact.total, exact.capped) == (5, False)


def test_pages_past_the_count_limit_still_come_in_sort_order():
    owner = make_member()
    for name in ("Annie A", "Annie B", "Annie C", "Annie D"):
        first, last = name.split()
        make_contact(owner, first_name=first, last_name=last)
    page = queries.list_records(owner.org_id, "contact", ListQuery(q="annie", sort="name", per_page=2, page=2),
                                count_limit=3)
    assert [c.last_name for c in page.items] == ["C", "D"] and page.capped
