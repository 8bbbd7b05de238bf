"""The Russian catalog's own soundness: placeholders kept, three plural forms chosen by Russian's rule."""

import re

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, get_translations

from app.i18n import TRANSLATIONS

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")


def russian():
    with open(TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return [m for m in read_po(f, locale="ru") if m.id]


def names(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_every_translation_keeps_the_placeholders_of_its_english():
    wrong = []
    for message in russian():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*map(names, ids))
        # Every Russian form keeps the count too: the "one" form also serves 21, 31...
        wrong += [(ids[0], s) for s in strings if s and names(s) != expected]
    assert wrong == []


def test_every_plural_has_russians_three_forms():
    plurals = [m for m in russian() if isinstance(m.id, tuple)]
    assert plurals, "no counted message is marked yet"
    assert [m.id[0] for m in plurals if len(m.string) != 3 or not all(m.string)] == []


def russian_form(n: int) -> int:
    """CLDR's rule: 1, 21, 31 (not 11) take the first form; 2-4, 22-24 (not 12-14) the second."""
    if n % 10 == 1 and n % 100 != 11:
        return 0
    return 1 if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else 2


@pytest.mark.parametrize("n", [1, 2, 5, 11, 21, 22, 12, 111, 0])
def test_counts_take_the_russian_form_their_number_asks_for(app, n):
    with app.test_request_context("/"), force_locale("ru"):
        translations = get_translations()  # the compiled catalog, as pages read it
        for message in (m for m in russian() if isinstance(m.id, tuple)):
            chosen = translations.ungettext(message.id[0], message.id[1], n)
            assert chosen == message.string[russian_form(n)], (message.id[0], n)
