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


def test_search_folds_yo_into_ye_and_cyrillic_case():
    owner = make_member()
    hedgehog = make_contact(owner, first_name="Ёжик", last_name="Туманный")
    shouting = make_contact(owner, first_name="ЁЖИК", last_name="Громкий")
    plain = make_contact(owner, first_name="Ежик", last_name="Простой")
    make_contact(owner, first_name="Заяц", last_name="Серый")

    def found(q):
        return {c.id for c in queries.list_records(owner.org_id, "contact", ListQuery(q=q)).items}

    everyone = {hedgehog.id, shouting.id, plain.id}
    assert found("Ежик") == everyone  # FTS on SQLite, trigram ILIKE on PostgreSQL
    assert found("ЁЖИК") == everyone
    assert found("ёж") == everyone  # a short term: the word-start LIKE
    assert found("туманный") == {hedgehog.id}
    assert found("громкии") == set()  # й is its own letter, not и


def test_a_company_renamed_with_yo_is_found_by_ye():
    from app.blueprints.crm.records import service

    owner = make_member()
    company = service.create_record(owner, "company", {"name": "Ёлки-Палки"})
    assert [c.id for c in queries.list_records(owner.org_id, "company", ListQuery(q="елки")).items] == [
        company.id]
    assert company.search_text == "елки-палки"


def test_a_number_written_as_the_team_writes_it_finds_the_contact():
    owner = make_member()
    owner.organization.default_country = "RU"
    ivan = make_contact(owner, first_name="Ivan", phone="+79161112233")
    make_contact(owner, first_name="Olga", phone="+79031234567")

    def found(q):
        return {c.id for c in queries.list_records(owner.org_id, "contact", ListQuery(q=q)).items}

    for written in ("8 916 111-22-33", "89161112233", "+7 (916) 111-22-33", "916 111 22 33", "111-22-33"):
        assert found(written) == {ivan.id}, written
    assert found("8 916 000-00-00") == set()


def test_a_number_search_still_finds_the_digits_as_typed():
    owner = make_member()
    owner.organization.default_country = "IS"  # where 1234567 is a whole phone number
    by_id = make_contact(owner, first_name="Tele", telegram_user_id=1234567)
    assert [c.id for c in queries.list_records(owner.org_id, "contact", ListQuery(q="1234567")).items] == [
        by_id.id]


def test_without_a_default_country_a_national_number_searches_its_digits():
    owner = make_member()
    ivan = make_contact(owner, first_name="Ivan", phone="+79161112233")
    assert queries.list_records(owner.org_id, "contact", ListQuery(q="7 916 111-22-33")).items == [ivan]
    assert queries.list_records(owner.org_id, "contact", ListQuery(q="8 916 111-22-33")).items == []
