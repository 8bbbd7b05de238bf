"""Telegram user accounts over MTProto (Telethon); ``sandbox`` is an in-process Telegram peer."""
