"""The sandbox model's writing: a short, plausible draft from the context in the prompt, the same
draft for the same context every time.

It reads labelled lines anywhere in the system and user messages (labels in English, any case;
the rest of the text is ignored):

    Task: reply | follow_up | first_message | template
    Contact: Anna Smirnova        (the person written to; the draft calls them by first name)
    Company: Acme                 Deal: Website redesign        Stage: Negotiation
    Campaign: Spring webinar      Product: Relay CRM            Sender: Oleg
    Language: ru | en             (only when the prospect has written nothing yet)
    Instructions: ...             (the organization's own: "formal" in them makes the draft formal)
    Them: <what the prospect wrote>      Us: <what we wrote>     (the last messages, oldest first)

Without ``Them:`` lines, the last user message that has no labels is what the prospect wrote. The
draft answers in the language of the prospect's last message: Russian if it has Cyrillic letters,
else English. A template (``Task: template``) says ``{{first_name}}`` and ``{{company.name}}``
instead of a person's values, as a campaign step would. With no contact, no conversation and no
company the model refuses: there is nothing to write from.
"""

# ruff: noqa: RUF001 - Russian text: its Cyrillic letters that look Latin are meant

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_LABEL = re.compile(r"^\s*[-*]?\s*([A-Za-z][A-Za-z _]{1,20}?)\s*:\s*(.*)$")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_THEM = {"them", "prospect", "client", "customer", "contact said", "they"}
_US = {"us", "we", "me", "agent", "manager"}
_FIELDS = {"task", "contact", "company", "deal", "stage", "campaign", "product", "sender",
           "language", "instructions", "tone"}


@dataclass
class Context:
    fields: dict[str, str] = field(default_factory=dict)
    turns: list[tuple[str, str]] = field(default_factory=list)  # ("them" | "us", text)

    def get(self, name: str) -> str:
        return self.fields.get(name, "").strip()

    @property
    def last_from_them(self) -> str:
        for who, text in reversed(self.turns):
            if who == "them":
                return text
        return ""


def read_context(messages: Sequence[dict[str, Any]]) -> Context:
    context = Context()
    unlabelled: list[str] = []
    for message in messages:
        role, content = message.get("role"), message.get("content")
        if isinstance(content, list):  # content parts: keep the texts
            content = "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str) or role not in {"system", "user", "developer"}:
            continue
        labelled = False
        for line in content.splitlines():
            match = _LABEL.match(line)
            if not match:
                continue
            label, value = match.group(1).strip().lower(), match.group(2).strip()
            if label in _THEM and value:
                context.turns.append(("them", value))
            elif label in _US and value:
                context.turns.append(("us", value))
            elif label in _FIELDS:
                context.fields.setdefault(label, value)
            else:
                continue
            labelled = True
        if role == "user" and not labelled and content.strip():
            unlabelled.append(content.strip())
    if not any(who == "them" for who, _ in context.turns) and unlabelled:
        context.turns.append(("them", unlabelled[-1]))
    return context


@dataclass(frozen=True)
class Draft:
    text: str = ""
    refusal: str | None = None


def draft(messages: Sequence[dict[str, Any]]) -> Draft:
    context = read_context(messages)
    russian = _russian(context)
    if not (context.get("contact") or context.turns or context.get("company")):
        return Draft(refusal=_REFUSAL_RU if russian else _REFUSAL_EN)
    writer = _Russian(context) if russian else _English(context)
    return Draft(text=writer.write())


_REFUSAL_EN = ("I can't draft this message: the context names no contact, no company and no "
               "conversation to write from.")
_REFUSAL_RU = ("Не могу написать черновик: в контексте нет ни контакта, ни компании, ни переписки, "
               "от которых можно оттолкнуться.")


def _russian(context: Context) -> bool:
    last = context.last_from_them
    if last:
        return bool(_CYRILLIC.search(last))
    language = context.get("language").lower()
    if language:
        return language.startswith(("ru", "рус"))
    return bool(_CYRILLIC.search(context.get("contact") + context.get("instructions")))


def _first_name(full: str) -> str:
    return full.split()[0].strip(",.") if full.split() else ""


_INTENTS = (
    ("stop", r"not interested|no thanks|no, thanks|unsubscribe|stop writing|remove me|"
             r"не интересно|неинтересно|не нужно|не пишите|отпишите|больше не"),
    ("price", r"price|pricing|cost|how much|quote|budget|discount|"
              r"цен|стоимост|сколько|прайс|бюджет|скидк"),
    ("meeting", r"call|meet|talk|demo|zoom|schedule|созвон|встреч|демо|звон|созвонить"),
    ("timing", r"when|deadline|timeline|how long|launch|когда|срок|сколько времени|запуск"),
    ("thanks", r"thank|thx|great|спасибо|благодар|отлично"),
)
_STAGES = (
    ("lost", r"lost|проигр|отказ|потерян"),
    ("won", r"won|closed|выигр|успешн|оплач"),
    ("negotiation", r"negotiat|contract|переговор|договор|согласован"),
    ("proposal", r"proposal|offer|quote|предложен|\bкп\b|оффер"),
    ("qualified", r"qualif|discovery|квалиф|выявлен|потребност"),
    ("new", r"new|lead|contact|новы|лид|первичн"),
)


_DAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS_RU = (("понедельник", "в понедельник"), ("вторник", "во вторник"), ("сред", "в среду"),
            ("четверг", "в четверг"), ("пятниц", "в пятницу"), ("суббот", "в субботу"),
            ("воскресень", "в воскресенье"))


def _kind(text: str, table: tuple[tuple[str, str], ...]) -> str:
    lowered = text.lower()
    for name, pattern in table:
        if re.search(pattern, lowered):
            return name
    return ""


class _Writer:
    """Sentences chosen by the context (its task, the prospect's intent, the deal's stage), their
    wording by a hash of it: the same context, the same draft."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.task = (context.get("task").lower().replace("-", "_").replace(" ", "_") or
                     ("reply" if context.last_from_them else "first_message"))
        template = self.task == "template"
        self.name = "{{first_name}}" if template else _first_name(context.get("contact"))
        self.company = "{{company.name}}" if template else context.get("company")
        self.deal = "" if template else context.get("deal")
        self.stage = _kind(context.get("stage"), _STAGES)
        self.intent = _kind(context.last_from_them, _INTENTS)
        self.day = self._day(context.last_from_them.lower())
        self.product = context.get("product")
        self.formal = bool(re.search(r"formal|официальн|на вы", (context.get("instructions") + " "
                                     + context.get("tone")).lower()))
        seed = repr((sorted(context.fields.items()), context.turns)).encode()
        self._seed = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")

    @staticmethod
    def _day(text: str) -> str:
        """The weekday the prospect named, as the draft says it ("Thursday", "в четверг")."""
        for day in _DAYS_EN:
            if day in text:
                return day.capitalize()
        for stem, said in _DAYS_RU:
            if stem in text:
                return said
        return ""

    def pick(self, *options: str) -> str:
        return options[self._seed % len(options)]

    def write(self) -> str:
        sentences = [self.opening(), *self.body(), self.closing()]
        text = " ".join(s for s in sentences if s)
        sender = self.context.get("sender")
        return f"{self.greeting()}\n\n{text}" + (f"\n\n{self.signature(sender)}" if sender else "")

    def body(self) -> list[str]:
        if self.task == "reply" and self.intent:
            return [self.answer(self.intent)]
        if self.task in {"reply", "follow_up"} and self.stage:
            return [self.next_step(self.stage)]
        return [self.pitch()]

    # Each language fills these in.
    def greeting(self) -> str: raise NotImplementedError
    def opening(self) -> str: raise NotImplementedError
    def answer(self, intent: str) -> str: raise NotImplementedError
    def next_step(self, stage: str) -> str: raise NotImplementedError
    def pitch(self) -> str: raise NotImplementedError
    def closing(self) -> str: raise NotImplementedError
    def signature(self, sender: str) -> str: raise NotImplementedError


class _English(_Writer):
    def greeting(self) -> str:
        hello = "Hello" if self.formal else self.pick("Hi", "Hello")
        return f"{hello} {self.name}," if self.name else f"{hello},"

    def opening(self) -> str:
        if self.task == "reply":
            return self.pick("Thanks for getting back to me.", "Thank you for your message.",
                             "Thanks for the quick reply.")
        if self.task == "follow_up":
            about = f" about {self.deal}" if self.deal and not self.stage else ""
            return self.pick(f"I wanted to follow up on our conversation{about}.",
                             f"Just checking in on our last exchange{about}.")
        at = f" at {self.company}" if self.company else ""
        return self.pick(f"I'm reaching out to the team{at}.",
                         f"I came across your work{at} and wanted to say hello.")

    def answer(self, intent: str) -> str:
        for_them = f" for {self.company}" if self.company else ""
        deal = f" for {self.deal}" if self.deal else ""
        return {
            "stop": "Understood, I won't write again. If anything changes, just reply to this message.",
            "price": self.pick(
                f"The price{for_them} depends on the number of seats and the plan; I'll send you "
                f"the exact figures{deal} today.",
                f"Happy to share pricing{for_them}: I'll put the options{deal} in a short note today."),
            "meeting": f"{self.day} works for me: shall we say 11:00?" if self.day else self.pick(
                "A call sounds good: would Tuesday at 11:00 or Thursday at 15:00 suit you?",
                "Let's find 20 minutes for a call: does Wednesday afternoon work for you?"),
            "timing": self.pick(
                "Usually we get a team like yours running within two weeks, and I can share a plan.",
                "Most teams are set up within a couple of weeks; I'll outline the steps for you."),
            "thanks": self.pick("Glad it helps.", "Happy to help."),
        }[intent]

    def next_step(self, stage: str) -> str:
        deal = self.deal or "this"
        return {
            "new": f"I'd love to learn a bit more about what {self.company or 'your team'} needs.",
            "qualified": "Could you tell me which of your current tools this would replace?",
            "proposal": f"Have you had a chance to look at the proposal for {deal}?",
            "negotiation": f"I can send the updated terms for {deal} today if that helps you decide.",
            "won": "Welcome aboard: I'll send the onboarding details shortly.",
            "lost": "I understand the timing wasn't right, and I'm happy to pick this up again later.",
        }[stage]

    def pitch(self) -> str:
        product = self.product or "our product"
        them = self.company or "your team"
        like = f"Teams like {self.company}" if self.company else "Teams like yours"
        return self.pick(f"{product} could help {them} reply to clients faster and lose no deals.",
                         f"{like} use {product} to keep every conversation on track.")

    def closing(self) -> str:
        if self.intent == "stop":
            return ""
        if self.intent == "meeting":
            return "I'll send an invitation once you confirm."
        return self.pick("Would a short call this week be useful?", "What do you think?",
                         "Let me know if you have any questions.")

    def signature(self, sender: str) -> str:
        return f"Best regards,\n{sender}" if self.formal else f"Best,\n{sender}"


class _Russian(_Writer):
    @staticmethod
    def _quoted(name: str) -> str:
        """A company's name, undeclined, in quotes (a variable as it is)."""
        return name if name.startswith("{{") or name.startswith("«") else f"«{name}»"

    def greeting(self) -> str:
        hello = "Здравствуйте" if self.formal else self.pick("Здравствуйте", "Добрый день")
        return f"{hello}, {self.name}!" if self.name else f"{hello}!"

    def opening(self) -> str:
        if self.task == "reply":
            return self.pick("Спасибо за ответ.", "Спасибо за ваше сообщение.", "Спасибо, что написали.")
        if self.task == "follow_up":
            about = f" о проекте «{self.deal}»" if self.deal and not self.stage else ""
            return self.pick(f"Хотел вернуться к нашему разговору{about}.",
                             f"Напоминаю о нашей переписке{about}.")
        at = f" {self._quoted(self.company)}" if self.company else ""
        return self.pick(f"Пишу вам и команде{at}.",
                         f"Обратил внимание на работу команды{at} и решил написать.")

    def answer(self, intent: str) -> str:
        for_them = f" для {self._quoted(self.company)}" if self.company else ""
        deal = f" по «{self.deal}»" if self.deal else ""
        return {
            "stop": "Понял, больше не буду беспокоить. Если что-то изменится, просто ответьте "
                    "на это сообщение.",
            "price": self.pick(
                f"Стоимость{for_them} зависит от числа пользователей и тарифа; сегодня пришлю "
                f"точные цифры{deal}.",
                f"Расскажу о ценах{for_them}: сегодня пришлю короткую записку с вариантами{deal}."),
            "meeting": f"{self.day.capitalize()} мне удобно: давайте в 11:00?" if self.day else self.pick(
                "Давайте созвонимся: вам удобно во вторник в 11:00 или в четверг в 15:00?",
                "Предлагаю найти 20 минут на звонок: подойдёт среда после обеда?"),
            "timing": self.pick(
                "Обычно команда как ваша начинает работать за две недели, могу прислать план.",
                "Как правило, запуск занимает пару недель; опишу вам шаги."),
            "thanks": self.pick("Рад, что это полезно.", "Всегда рад помочь."),
        }[intent]

    def next_step(self, stage: str) -> str:
        deal = f" по «{self.deal}»" if self.deal else ""
        return {
            "new": "Хотел бы подробнее узнать, что нужно вашей команде.",
            "qualified": "Подскажите, какие инструменты вы используете сейчас?",
            "proposal": f"Удалось ли посмотреть наше предложение{deal}?",
            "negotiation": f"Могу сегодня прислать обновлённые условия{deal}, если это поможет решить.",
            "won": "Добро пожаловать! Скоро пришлю всё для начала работы.",
            "lost": "Понимаю, что сейчас не время; с радостью вернёмся к этому позже.",
        }[stage]

    def pitch(self) -> str:
        product = f"«{self.product}»" if self.product else "наш продукт"
        them = f"команде {self._quoted(self.company)}" if self.company else "вашей команде"
        return self.pick(f"{product} поможет {them} быстрее отвечать клиентам и не терять сделки.",
                         f"С {product} команды ведут каждый разговор с клиентом до результата.")

    def closing(self) -> str:
        if self.intent == "stop":
            return ""
        if self.intent == "meeting":
            return "Пришлю приглашение, как только подтвердите."
        return self.pick("Удобно ли созвониться на этой неделе?", "Что скажете?",
                         "Буду рад ответить на вопросы.")

    def signature(self, sender: str) -> str:
        return f"С уважением,\n{sender}"
