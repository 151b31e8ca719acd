"""Svodka: a Telegram bot for Russian news summaries and daily digests."""
