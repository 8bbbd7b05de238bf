import pytest

from app import canonical


@pytest.mark.parametrize(("raw", "expected"), [
    (7, 7), ("42", 42), (" 42 ", 42), ("Won", None), ("", None), (None, None), (True, None),
    ("-3", None), ("4.5", None), (4.5, None), (2**31 - 1, 2**31 - 1), (2**31, None), (str(2**31), None), (-3, None),
])
def test_an_id_is_an_int_or_digits_and_anything_else_is_looked_up_by_name(raw, expected):
    assert canonical.id_or_none(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("Ёжик", "ежик"), ("ЁЖИК", "ежик"), ("ежик", "ежик"), ("Пётр O'Neil", "петр o'neil"), ("Й", "й"),
])
def test_search_folds_case_and_reads_yo_as_ye(raw, expected):
    assert canonical.search_fold(raw) == expected
