"""Russian text processing: sentences, lemmas, summaries and key points. No aiogram here."""

# The summarizer's algorithms, named here so that settings and argument parsing can
# check a name without loading sumy.
ALGORITHMS = ("lexrank", "textrank", "lsa", "luhn", "kl", "sumbasic", "edmundson")
