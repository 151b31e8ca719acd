"""The news evaluation set: news articles from ../shared/eval with a reference written
by their editors, in two parts, one to tune on and one to report.

* tuning: the silver day (`stories/silver_tgcontest_ru_20200502_03_articles.jsonl`,
  Russian news of 2020-05-02/03). Its articles carry no description, so the
  reference is the headline.
* report:
  - RIA Novosti (`ria_20.json` and `realworld/summaries/ria_corus_sample.jsonl`),
    lowercased HTML, the headline as reference;
  - the ODS sample (`realworld/news_texts/ods_63_newlines_restored.jsonl`): seven
    outlets, the headline as reference;
  - the Telegram contest pages (`realworld/pages/tgnews/`) in Russian whose
    description is the editor's own, not a copy of the page's lead;
  - the one Gazeta example with its human summary.

The stories set's gold pairs are held out for story clustering and are not used.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from _common import Pair, html_to_text, json_lines

SILVER_FILE = "stories/silver_tgcontest_ru_20200502_03_articles.jsonl"
RIA_FILES = ("ria_20.json", "realworld/summaries/ria_corus_sample.jsonl")
ODS_FILE = "realworld/news_texts/ods_63_newlines_restored.jsonl"
TGNEWS_DIR = "realworld/pages/tgnews"
GAZETA_FILE = "realworld/summaries/gazeta_card_1.jsonl"

# A description is a copy of the lead when this share of its words are among the
# lead's first words (as many as the description has, and some more for a byline); a shorter one
# ("Хм.") says nothing a summary could match.
_COPY_SHARE = 0.8
_LEAD_SLACK = 25
_MIN_DESCRIPTION_WORDS = 5
# "… - hi-Tech.ua", "… – на «Бомбардире»": the site's name, not the editor's words.
_SITE_SUFFIX = re.compile(r"\s+[-–—]\s+(?:на\s+)?«?[\w.\- ]{2,30}»?\s*$")


@dataclass(frozen=True, slots=True)
class NewsPart:
    name: str
    pairs: list[Pair]
    note: str


def _words(text: str) -> list[str]:
    from razdel import tokenize

    return [t.text.lower() for t in tokenize(text) if any(ch.isalnum() for ch in t.text)]


def is_copy_of_lead(description: str, text: str) -> bool:
    words = _words(description)
    lead = set(_words(text)[: len(words) + _LEAD_SLACK])
    return sum(w in lead for w in words) >= _COPY_SHARE * len(words)


def _description(raw: str) -> str:
    text = html.unescape(raw).replace("\xa0", " ").strip()
    text = _SITE_SUFFIX.sub("", text)
    return text.rstrip(" .…") + "." if text.endswith(("...", "…")) else text


def silver(eval_dir: Path, limit: int | None = None) -> list[Pair]:
    path = eval_dir / SILVER_FILE
    seen: set[str] = set()
    pairs: list[Pair] = []
    for row in json_lines(path):
        if row["id"] in seen or not row["text"].strip() or not row["title"].strip():
            continue
        seen.add(row["id"])
        pairs.append(Pair(row["text"], row["title"], row["title"]))
    return pairs[:limit]


def ria(eval_dir: Path) -> list[Pair]:
    pairs: list[Pair] = []
    titles: set[str] = set()
    for name in RIA_FILES:
        for row in json_lines(eval_dir / name):
            if row["title"] in titles:
                continue
            titles.add(row["title"])
            pairs.append(Pair(html_to_text(row["text"]), row["title"], row["title"]))
    return pairs


def ods(eval_dir: Path) -> list[Pair]:
    return [Pair(r["text"], r["title"], r["title"]) for r in json_lines(eval_dir / ODS_FILE)]


def tgnews(eval_dir: Path) -> tuple[list[Pair], int]:
    """Pages in Russian with an editor's description, and how many were copies."""
    from bot.intake.errors import NoArticleText
    from bot.intake.pages import extract_page

    folder = eval_dir / TGNEWS_DIR
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    pairs: list[Pair] = []
    copies = 0
    for name, page in sorted(meta.items()):
        if page["lang"] != "ru":
            continue
        description = _description(page["description"])
        if len(_words(description)) < _MIN_DESCRIPTION_WORDS:
            continue
        try:
            article = extract_page((folder / name).read_bytes(), url=page["url"], charset=None)
        except NoArticleText:
            continue
        if is_copy_of_lead(description, article.text):
            copies += 1
            continue
        pairs.append(Pair(article.text, description, article.title))
    return pairs, copies


def gazeta(eval_dir: Path) -> list[Pair]:
    return [Pair(r["text"], r["summary"], r["title"]) for r in json_lines(eval_dir / GAZETA_FILE)]


def report_parts(eval_dir: Path) -> list[NewsPart]:
    pages, copies = tgnews(eval_dir)
    return [
        NewsPart("RIA", ria(eval_dir), "headline"),
        NewsPart("ODS", ods(eval_dir), "headline"),
        NewsPart("tgnews", pages, f"editor's description ({copies} copies of the lead left out)"),
        NewsPart("Gazeta", gazeta(eval_dir), "human summary"),
    ]
