"""Mapping: matching column headers to fields, and checking and queueing a mapped import."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import BinaryIO

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import audit
from app.blueprints.crm.export.service import CUSTOM_PREFIX
from app.blueprints.crm.models import Entity, Import, ImportStatus
from app.blueprints.crm.records.fields import FIELDS
from app.blueprints.crm.records.service import custom_fields
from app.blueprints.team.public import Membership, Permission, require
from app.errors import Conflict, DomainError
from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE
from app.jobs import Queues, enqueue_after_commit

from .names import FULL_NAME, FULL_NAME_LABEL
from .upload import MAX_COLUMNS, _entity, start_import

POLICIES = ("skip", "update", "create")
POLICY_LABELS = {"skip": _l("Skip rows that match an existing record"),
                 "update": _l("Update the matching record with the row's non-blank values"),
                 "create": _l("Always create a new record")}


# Headers of a contact file's one name column, mapped to ``full_name`` (split into first and last
# name, ``names.split_full_name``): exact ones beside the fields' labels, loose ones beside aliases.
_FULL_NAME_HEADERS = ("full name", "fullname", "name", "display name", "фио", "ф и о",  # noqa: RUF001 - Cyrillic
                      "полное имя",
                      "имя и фамилия", "фамилия и имя", "фамилия имя отчество", "фамилия имя",
                      "имя фамилия")
_FULL_NAME_ALIASES = ("contact", "contact name", "person", "name of contact", "контакт", "контактное лицо",
                      "имя контакта")
# Russian headers (the fields' aliases are English), as Russian teams and their old CRMs (amoCRM,
# Bitrix24 exports) write them. Matched after the fields' own names and labels, like aliases.
_FIRST_NAME_HEADERS = ("имя",)
_RUSSIAN_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    Entity.CONTACT: {
        "first_name": _FIRST_NAME_HEADERS, "last_name": ("фамилия",),
        "email": ("почта", "эл почта", "электронная почта", "рабочий email", "личный email", "емейл",
                  "имейл"),
        "phone": ("телефон", "мобильный", "мобильный телефон", "рабочий телефон", "номер телефона",
                  "номер", "тел", "сотовый"),
        "telegram_username": ("телеграм", "телеграмм", "ник в телеграм", "ник в телеграме", "тг", "ник"),
        "telegram_user_id": ("id в телеграм", "телеграм id", "tg id пользователя"),
        "company": ("компания", "организация", "название компании", "место работы"),
        "title": ("должность", "позиция"),
        "timezone": ("часовой пояс",),
        "owner": ("ответственный", "менеджер", "ответственный менеджер"),
        "tags": ("теги", "тег", "метки"),
        "source": ("источник", "канал", "источник лида"),
        "do_not_contact": ("не беспокоить", "не писать", "отписан"),
        "notes": ("заметки", "заметка", "комментарий", "комментарии", "примечание", "описание"),
    },
    Entity.COMPANY: {
        "name": ("название", "наименование", "компания", "организация", "название компании"),
        "domain": ("домен",),
        "website": ("сайт", "веб сайт", "вебсайт"),
        "industry": ("отрасль", "сфера", "сфера деятельности"),
        "size": ("размер", "сотрудники", "численность", "число сотрудников"),
        "owner": ("ответственный", "менеджер"),
        "tags": ("теги", "тег", "метки"),
        "notes": ("заметки", "комментарий", "примечание", "описание"),
    },
    Entity.DEAL: {
        "title": ("сделка", "название", "название сделки", "наименование"),
        "value": ("сумма", "бюджет", "стоимость", "сумма сделки"),
        "currency": ("валюта",),
        "contact": ("контакт", "контактное лицо", "основной контакт"),
        "company": ("компания", "организация"),
        "stage": ("этап", "этап сделки", "стадия", "воронка этап"),
        "owner": ("ответственный", "менеджер"),
        "probability": ("вероятность",),
        "expected_close": ("дата закрытия", "ожидаемая дата закрытия", "планируемая дата закрытия"),
        "status": ("статус",),
        "lost_reason": ("причина отказа", "причина проигрыша", "причина"),
        "tags": ("теги", "тег", "метки"),
    },
}
# What gives a contact a name: a column mapped to any of these.
NAME_TARGETS = ("first_name", "last_name", FULL_NAME)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.:*]+", " ", text.strip().lower()).strip()


def field_choices(org_id: int, entity: str) -> list[tuple[str, str]]:
    """(field key, label) for every field a column may fill; custom fields are ``custom.<key>``.

    Contacts also take ``full_name``: one column split into first and last name.
    """
    entity = _entity(entity)
    choices = [(f.name, f.label) for f in FIELDS[entity]]
    if entity == Entity.CONTACT:
        at = next(i for i, (name, _) in enumerate(choices) if name == "last_name") + 1
        choices.insert(at, (FULL_NAME, FULL_NAME_LABEL))
    choices += [(f"custom.{c.key}", c.label) for c in custom_fields(org_id, entity)]
    return choices


def gives_names(entity: str, mapping: dict[str, str]) -> bool:
    """Whether a mapping gives the records a name: always for companies and deals (their name or
    title is required); for contacts, a column mapped to first name, last name or full name."""
    return _entity(entity) != Entity.CONTACT or any(f in NAME_TARGETS for f in mapping.values())


def guess_mapping(org_id: int, entity: str, headers: Iterable[str]) -> dict[str, str]:
    """header -> field key ("" = ignored), matching names and labels before aliases; each field once."""
    entity = _entity(entity)
    exact: dict[str, str] = {}
    loose: dict[str, str] = {}
    for f in FIELDS[entity]:
        exact.setdefault(_norm(f.name), f.name)
        exact.setdefault(_norm(f.label), f.name)
    for c in custom_fields(org_id, entity):
        exact.setdefault(_norm(c.label), f"custom.{c.key}")
        exact.setdefault(_norm(c.key), f"custom.{c.key}")
        exact.setdefault(_norm(f"{CUSTOM_PREFIX}{c.label}"), f"custom.{c.key}")  # as our export writes it
    for f in FIELDS[entity]:
        for alias in (*f.aliases, *_RUSSIAN_ALIASES[entity].get(f.name, ())):
            loose.setdefault(_norm(alias), f.name)
    if entity == Entity.CONTACT:
        for name in _FULL_NAME_HEADERS:
            exact.setdefault(_norm(name), FULL_NAME)
        for name in _FULL_NAME_ALIASES:
            loose.setdefault(_norm(name), FULL_NAME)
    mapping = dict.fromkeys(headers, "")
    taken: set[str] = set()
    for table in (exact, loose):
        for header in mapping:
            key = table.get(_norm(header))
            if not mapping[header] and key and key not in taken:
                mapping[header] = key
                taken.add(key)
    if entity == Entity.CONTACT:
        _settle_names(mapping, taken)
    return mapping


def _settle_names(mapping: dict[str, str], taken: set[str]) -> None:
    """One way of naming contacts per guess.

    A file with first or last name columns names its people there: its "Name" column may be
    anything (a nickname, a company), so it is left for the person to map. A lone "Имя" column
    ("name" as much as "first name") with no "Фамилия" beside it is split as a full name: one word
    still goes to the first name, and "Иван Петров" no longer lands there whole.
    """
    if FULL_NAME in taken and taken & {"first_name", "last_name"}:
        for header, key in mapping.items():
            if key == FULL_NAME:
                mapping[header] = ""
    elif FULL_NAME not in taken and "last_name" not in taken:
        for header, key in mapping.items():
            if key == "first_name" and _norm(header) in _FIRST_NAME_HEADERS:
                mapping[header] = FULL_NAME


def queue_import(actor: Membership, imp: Import, mapping: dict[str, str], dedupe: str = "skip",
                 dry_run: bool = False) -> Import:
    """Check the mapping and policy, and queue the run (enqueued once the caller commits).

    Raises what ``check_mapping`` raises. A contact mapping that gives no names is accepted (a
    phone-only list is a fair import): the mapping page warns of it first (``gives_names``).
    """
    chosen = check_mapping(actor, imp, mapping, dedupe)
    imp.mapping, imp.dedupe, imp.dry_run = chosen, dedupe, bool(dry_run)
    imp.status = ImportStatus.QUEUED.value
    audit.record("import.started", org_id=imp.org_id, actor_id=actor.user_id, target=imp, file=imp.filename,
                 entity=imp.entity, dedupe=dedupe, dry_run=imp.dry_run)
    db.session.flush()
    enqueue_after_commit(Queues.IMPORTS, "app.blueprints.crm.importing.jobs.run_import", imp.id,
                         job_timeout=3 * 3600)
    return imp


def check_mapping(actor: Membership, imp: Import, mapping: dict[str, str],
                  dedupe: str = "skip") -> dict[str, str]:
    """The mapping's chosen columns (header -> field), checked with the policy; nothing is written.

    Raises Conflict (already started), Forbidden (``update`` without RECORDS_EDIT_ALL) or
    DomainError (fields ``mapping`` / ``dedupe``) for an unknown column or field, a field mapped
    twice, or a required field left unmapped.
    """
    if imp.status != ImportStatus.UPLOADED:
        raise Conflict(_("This import has already been started."))
    if dedupe not in POLICIES:
        raise DomainError(_("Choose what to do with duplicates."),
                          {"dedupe": _("One of: %(choices)s.", choices=", ".join(POLICIES))})
    if dedupe == "update":
        require(actor, Permission.RECORDS_EDIT_ALL)
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str | None)
                                                for k, v in mapping.items()):
        raise DomainError(_("The mapping must map column headers to field names."), {"mapping": _("Not "
                                                                                                  "valid.")})
    fields = dict(field_choices(imp.org_id, imp.entity))
    headers = set(imp.headers)  # sets and counts throughout: linear in the columns and the mapping
    unknown_columns = [h for h in mapping if h not in headers]
    if unknown_columns:
        message = _("The file has no column named %(columns)s.", columns=_some(unknown_columns))
        raise DomainError(message, {"mapping": message})
    chosen = {h: f for h, f in mapping.items() if f}
    uses = Counter(chosen.values())  # field -> how many columns it is mapped from
    unknown_fields = sorted(f for f in uses if f not in fields)
    if unknown_fields:
        message = _("Unknown field(s): %(fields)s.", fields=_some(unknown_fields))
        raise DomainError(message, {"mapping": message})
    doubled = sorted({str(fields[f]) for f, n in uses.items() if n > 1})
    if doubled:
        message = _("Map each field from one column only: %(fields)s.", fields=", ".join(doubled))
        raise DomainError(message, {"mapping": message})
    if not chosen:
        raise DomainError(_("Map at least one column to a field."), {"mapping": _("Nothing is mapped.")})
    missing = [str(f.label) for f in FIELDS[imp.entity] if f.required and f.name not in uses]
    if missing:
        message = _("Map a column to %(fields)s: it is required.", fields=", ".join(missing))
        raise DomainError(message, {"mapping": message})
    return chosen


def _some(names: list[str], shown: int = 5) -> str:
    """The first few names, and how many more (a mapping from an API client may name thousands)."""
    listed = ", ".join(names[:shown])
    if len(names) <= shown:
        return listed
    return _("%(listed)s and %(more)s more", listed=listed, more=_number(len(names) - shown))


def _number(n: int) -> str:
    """A count as the viewer's language writes it (1,234 or 1 234)."""
    return format_decimal(n, locale=get_locale() or DEFAULT_LANGUAGE)


def import_file(actor: Membership, entity: str, filename: str, stream: BinaryIO,
                mapping: dict[str, str] | None = None, dedupe: str = "skip", dry_run: bool = False) -> Import:
    """Upload and queue in one step (the API); without a mapping the guessed one is used.

    Raises what ``start_import`` and ``queue_import`` raise; a mapping naming more columns than a
    file may have is refused (DomainError, field ``mapping``) before the upload is stored, so that
    checking it never runs while the stored upload's transaction is open.
    """
    if isinstance(mapping, dict) and len(mapping) > MAX_COLUMNS:
        message = _("The mapping names %(count)s columns; a file has at most %(most)s.",
                    count=_number(len(mapping)), most=MAX_COLUMNS)
        raise DomainError(message, {"mapping": message})
    imp = start_import(actor, entity, filename, stream)
    if mapping is None:
        mapping = guess_mapping(actor.org_id, imp.entity, imp.headers)
    return queue_import(actor, imp, mapping, dedupe, dry_run)
