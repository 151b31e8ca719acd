"""Svodka: a Telegram bot for Russian news summaries and daily digests."""

from bot import lazy_imports

# Before anything imports aiogram or nltk (bot/lazy_imports.py says why).
lazy_imports.install()
