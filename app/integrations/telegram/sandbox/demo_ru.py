"""The demo world's Russian-speaking people and their conversations (``demo.py`` seeds them).

What the product is for: business development in Telegram, where much of it is in Russian. Each
talk is who writes (``them``: the person, ``us``: the demo account, written before the app arrived)
and what, in order: a partnership intro, questions about pricing, follow-ups after a proposal and a
demo, a partner agency's first message. The first four people are contacts of the app's demo CRM
(``app/demo.py``, the same Telegram usernames), so their chats link to those contacts; the others
become new contacts when the chats sync.
"""

# ruff: noqa: RUF001 - Russian text: its Cyrillic letters that look Latin are meant

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Talk:
    first_name: str
    last_name: str
    username: str
    turns: tuple[tuple[str, str], ...]  # ("them" | "us", text), oldest first


THEM, US = "them", "us"

TALKS = (
    Talk("Анна", "Смирнова", "anna_smirnova", (
        (THEM, "Добрый день! Меня зовут Анна, я отвечаю за партнёрства в «Тундра Софт». Видела ваш доклад "
               "на RIW — хотим обсудить интеграцию нашего сервиса с вашей CRM."),
        (THEM, "Если удобно, давайте созвонимся на этой неделе, минут на 20–30."),
        (US, "Анна, добрый день! Спасибо, что написали. Давайте в четверг в 15:00 по Москве? "
             "Пришлю ссылку на звонок."),
        (THEM, "Отлично, четверг подходит. Подключу нашего технического директора, у него будут "
               "вопросы по API."),
    )),
    Talk("Дмитрий", "Волков", "dmitry_volkov", (
        (THEM, "Здравствуйте! Подскажите, сколько будет стоить тариф для команды из 12 менеджеров?"),
        (THEM, "И есть ли скидка при оплате за год? Работаем как юрлицо, нужны закрывающие документы."),
    )),
    Talk("Екатерина", "Соколова", "ekaterina_sokolova", (
        (US, "Екатерина, добрый день! Как договаривались, отправляю коммерческое предложение и условия "
             "пилота на месяц."),
        (THEM, "Спасибо! Посмотрели с командой, в целом всё устраивает."),
        (THEM, "Можем стартовать пилот с первого числа? И кто будет нашим менеджером на время внедрения?"),
    )),
    Talk("Тимур", "Галиев", "timur_galiev", (
        (THEM, "Привет! Нашёл вас через канал про B2B-продажи. Можно работать сразу с несколькими "
               "Telegram-аккаунтами?"),
        (US, "Привет, Тимур! Да, подключаете несколько аккаунтов, и все диалоги приходят в один инбокс. "
             "Сколько аккаунтов у вашей команды?"),
        (THEM, "Сейчас пять, к концу квартала будет около десяти. Сколько это будет стоить?"),
    )),
    Talk("Игорь", "Лебедев", "igor_lebedev", (
        (THEM, "Добрый вечер! Спасибо за демо сегодня. Скиньте, пожалуйста, запись и презентацию — "
               "покажу коллегам."),
        (US, "Игорь, спасибо, что нашли время! Запись и презентация у вас на почте, продублирую "
             "ссылкой сюда."),
        (THEM, "Получил, спасибо. Вернусь с обратной связью до конца недели."),
    )),
    Talk("Марина", "Белова", "marina_belova", (
        (THEM, "Здравствуйте! Ваш контакт мне дал Сергей Павлов. Мы агентство, ведём лидогенерацию "
               "в Telegram для клиентов, и нам интересна ваша партнёрская программа."),
        (THEM, "Какое вознаграждение для партнёров и есть ли white label?"),
    )),
)

# What Russian-speaking people answer when the account writes to them (in turn, as DEFAULT_REPLIES).
REPLIES = (
    "Спасибо, всё получили!",
    "Звучит интересно. Можете рассказать подробнее?",
    "Давайте созвонимся на следующей неделе.",
    "Пришлите, пожалуйста, детали на почту.",
    "Сейчас не до этого, вернёмся к вопросу в следующем квартале.",
)
