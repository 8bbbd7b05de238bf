"""A contact's full name, as one cell, split into the first and last name a contact has.

Contacts have a first and a last name and nothing else, so an import mapping a "Name" / "ФИО"
column to ``full_name`` splits each cell (``split_full_name``); the mapping page shows the split
of the preview rows before anything is imported.

- ``Anna Lee`` -> Anna / Lee; ``Mary Ann Lee`` -> Mary Ann / Lee; ``Ludwig van Beethoven`` -> Ludwig /
  van Beethoven (particles stay with the last name); ``Dr. Anna Lee`` drops the title, ``John Smith
  Jr.`` keeps the suffix with the last name.
- ``Lee, Anna`` (a comma: last name first, as lists sorted by surname write it) -> Anna / Lee.
- Russian names: ``Иван Иванов`` -> Иван / Иванов (two words: first, then last, as people write
  them); ``Иванов Иван Иванович`` (three words, the usual order of forms and lists, Фамилия Имя
  Отчество) -> Иван Иванович / Иванов; ``Иван Иванович Иванов`` (the patronymic in the middle:
  Имя Отчество Фамилия) -> Иван Иванович / Иванов. The patronymic stays with the first name:
  a Russian business contact is addressed by name and patronymic ("Иван Иванович, добрый день"),
  so that is what the first-name field (and a message greeting it) should hold, and dropping it
  would lose what the file said. Transliterated patronymics (``Ivanov Ivan Ivanovich``) are
  recognized too, and ``оглы`` / ``кызы`` stay with the patronymic they belong to.
- One word -> a first name only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from flask_babel import lazy_gettext as _l

FULL_NAME = "full_name"  # the mapping target: not a contact field, it fills first_name and last_name
FULL_NAME_LABEL = _l("Full name (first + last)")

_SPACES = re.compile(r"\s+")
_TITLES = {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "г-н", "г-жа"}  # noqa: RUF001 - Cyrillic
_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}
_CREDENTIALS = {"phd", "md", "mba"}
_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "del", "della", "du", "des", "la", "le", "dos",
              "das", "do", "ter", "ten", "bin", "ibn", "al", "el"}
# Patronymics by their endings (Cyrillic and transliterated); a plain "-ич" is left out, since many
# surnames end so (Бабич), and surnames ending like a patronymic (Абрамович) are told apart by place.
_PATRONYMIC = re.compile(r"(ович|евич|овна|евна|ична|ovich|evich|ovna|evna|ichna|ovitch|evitch)$", re.I)
_TURKIC_PATRONYMIC = {"оглы", "кызы", "улы", "уулу", "ogly", "kyzy"}
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


class SplitName(NamedTuple):
    first: str
    last: str


def split_full_name(text: str) -> SplitName:
    """First and last name from a full name (see the module's docstring for the rules)."""
    text = _SPACES.sub(" ", text).strip(" ,")
    if not text:
        return SplitName("", "")
    if "," in text:
        head, _, tail = text.partition(",")
        tail = tail.strip(" ,")
        if _plain(tail) in _SUFFIXES | _CREDENTIALS:  # "John Smith, Jr.", "Anna Lee, PhD"
            text = f"{head} {tail}"
        elif head.strip() and tail:  # "Lee, Anna": the surname first
            return SplitName(_SPACES.sub(" ", tail.replace(",", " ")).strip(), head.strip())
        else:
            text = head or tail
    words = _joined_patronymics(text.split(" "))
    titled = False
    while len(words) > 1 and _plain(words[0]) in _TITLES:
        words, titled = words[1:], True
    while len(words) > 1 and _plain(words[-1]) in _CREDENTIALS:
        words = words[:-1]
    if len(words) == 1:  # "Mr Lee" names the surname; a lone word otherwise is a first name
        return SplitName("", words[0]) if titled else SplitName(words[0], "")
    if len(words) == 2:
        return SplitName(words[0], words[1])
    if _CYRILLIC.search(text) or any(_PATRONYMIC.search(w) for w in words[1:]):
        split = _with_patronymic(words)
        if split is not None:
            return split
    return _western(words)


def _plain(word: str) -> str:
    return word.lower().rstrip(".")


def _joined_patronymics(words: list[str]) -> list[str]:
    """``Гусейн оглы`` is one patronymic: the particle joins the word before it."""
    out: list[str] = []
    for word in words:
        if out and word.lower() in _TURKIC_PATRONYMIC:
            out[-1] = f"{out[-1]} {word}"
        else:
            out.append(word)
    return out


def _is_patronymic(word: str) -> bool:
    return bool(_PATRONYMIC.search(word)) or word.split(" ")[-1].lower() in _TURKIC_PATRONYMIC


def _with_patronymic(words: list[str]) -> SplitName | None:
    """Three or more words of a Russian name: Имя Отчество Фамилия when the second word is a
    patronymic, else Фамилия Имя Отчество (the order forms and lists use); None for four or more
    words with no patronymic to go by."""
    if _is_patronymic(words[1]):
        return SplitName(f"{words[0]} {words[1]}", " ".join(words[2:]))
    if len(words) == 3:
        return SplitName(f"{words[1]} {words[2]}", words[0])
    if _is_patronymic(words[-1]):  # a double surname first: Салтыков Щедрин Михаил Евграфович
        return SplitName(" ".join(words[-2:]), " ".join(words[:-2]))
    return None


def _western(words: list[str]) -> SplitName:
    """The last word is the last name, with a suffix after it and the particles before it."""
    end = len(words) - 1
    if end > 1 and _plain(words[end]) in _SUFFIXES:
        end -= 1
    start = end
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return SplitName(" ".join(words[:start]), " ".join(words[start:]))
