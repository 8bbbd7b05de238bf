"""People the team writes to first (outreach), and how each reacts: their personas.

A prospect (``World.add_prospect``) has written to nobody and sits in no dialog until an account
writes to them. They react to that first message only, once per account, as their persona says:

- ``silent``: never answers (most people);
- ``replies_later``: a short reply after a while, and to half of the accounts a second line;
- ``asks_question``: a question (what it costs, what exactly is offered...);
- ``opts_out``: an opt-out phrase (``OPT_OUTS``), then never writes to that account again.

Later messages from the same account go unanswered, whatever the persona (kept simple: a
campaign's follow-ups meet silence). Russian-speaking prospects answer in Russian, the others in
English. Waits are the world's ``reply_delay`` times a factor from the persona's range, so a world
with tiny delays (tests) stays fast; a world whose ``reply_delay`` is None answers nothing at all.

A persona not given is derived from a stable hash of (the world's secret, the person's id), with
``SHARES`` as proportions; texts and waits likewise from (secret, person, account), so a world
with a fixed secret (``app_world``) is the same every time.
"""

# ruff: noqa: RUF001 - Russian text: its Cyrillic letters that look Latin are meant

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.integrations.telegram.sandbox.records import Account, Person
    from app.integrations.telegram.sandbox.world import World

SILENT, REPLIES_LATER, ASKS_QUESTION, OPTS_OUT = "silent", "replies_later", "asks_question", "opts_out"
LANGUAGES = ("ru", "en")

OPT_OUTS = {
    "ru": ("Не пишите мне больше", "Пожалуйста, отпишитесь", "Удалите меня из рассылки, пожалуйста",
           "Мне это не интересно, больше не пишите"),
    "en": ("stop", "Please unsubscribe me", "Please remove me from your list",
           "Not interested, don't message me again"),
}
QUESTIONS = {
    "ru": ("Сколько это стоит?", "Что именно вы предлагаете?", "Откуда у вас мой контакт?",
           "А есть бесплатный пробный период?"),
    "en": ("What does it cost?", "What exactly are you offering?", "Where did you get my contact?",
           "Is there a free trial?"),
}
LATER_REPLIES = {
    "ru": ("Здравствуйте! Спасибо, что написали.", "Добрый день, извините за долгий ответ.",
           "Привет! Звучит интересно.", "Спасибо за сообщение, посмотрю."),
    "en": ("Hi! Thanks for reaching out.", "Hello, sorry for the slow reply.", "Hey, sounds interesting.",
           "Thanks for the message, I'll take a look."),
}
LATER_FOLLOW_UPS = {
    "ru": ("Можете прислать подробности?", "Давайте созвонимся на следующей неделе.",
           "Как у вас устроен пилот?"),
    "en": ("Could you send a few more details?", "Let's have a short call next week.",
           "What would a pilot look like for us?"),
}


@dataclass(frozen=True)
class Persona:
    """What a prospect may answer a first message with (per language), and when: ``wait`` is a range
    of factors of the world's ``reply_delay``; ``follow_ups`` a second line, sent to
    ``follow_up_share`` of the accounts after a further ``follow_up_wait``."""

    name: str
    share: float  # of the prospects whose persona is not given
    lines: dict[str, tuple[str, ...]] = field(default_factory=dict)  # none: never answers
    wait: tuple[float, float] = (1.0, 1.0)
    follow_ups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    follow_up_share: float = 0.0
    follow_up_wait: tuple[float, float] = (1.0, 1.0)


PERSONAS = {p.name: p for p in (
    Persona(SILENT, 0.6),
    Persona(REPLIES_LATER, 0.2, LATER_REPLIES, wait=(3.0, 8.0), follow_ups=LATER_FOLLOW_UPS,
            follow_up_share=0.5, follow_up_wait=(0.5, 2.0)),
    Persona(ASKS_QUESTION, 0.1, QUESTIONS, wait=(1.0, 3.0)),
    Persona(OPTS_OUT, 0.1, OPT_OUTS, wait=(0.5, 2.0)),
)}
SHARES = {name: persona.share for name, persona in PERSONAS.items()}


def check(language: str, persona: str | None) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"a prospect speaks one of {LANGUAGES}, not {language!r}")
    if persona is not None and persona not in PERSONAS:
        raise ValueError(f"no persona {persona!r}: one of {tuple(PERSONAS)}")


def _unit(seed: bytes, *parts: object) -> float:
    """A stable number in [0, 1) for (seed, parts)."""
    digest = hashlib.blake2b(seed + ":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def assign(seed: bytes, person_id: int) -> str:
    """The persona of a prospect none was given to: the same for the same (seed, id), in ``SHARES``."""
    point, upto = _unit(seed, "persona", person_id), 0.0
    for name, share in SHARES.items():
        upto += share
        if point < upto:
            return name
    return SILENT


def reaction(world: World, account: Account, person: Person) -> list[tuple[float, str]]:
    """What the prospect sends after the account's first message: (seconds from now, text), in order."""
    persona, delay = PERSONAS[person.persona or SILENT], world.reply_delay
    if delay is None or not persona.lines:
        return []
    seed, who = world.secret, (person.profile.id, account.phone)

    def pick(options: tuple[str, ...], what: str) -> str:
        return options[int(_unit(seed, what, *who) * len(options))]

    def wait(span: tuple[float, float], what: str) -> float:
        low, high = span
        return delay * (low + (high - low) * _unit(seed, what, *who))

    at = wait(persona.wait, "wait")
    answers = [(at, pick(persona.lines[person.language], "line"))]
    if persona.follow_ups and _unit(seed, "follow-up?", *who) < persona.follow_up_share:
        at += wait(persona.follow_up_wait, "follow-up wait")
        answers.append((at, pick(persona.follow_ups[person.language], "follow-up")))
    return answers
