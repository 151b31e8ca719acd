"""Russian text processing: sentences, lemmas, summaries and key points. No aiogram here."""
