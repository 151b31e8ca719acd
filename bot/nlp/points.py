"""Key points of a statement: the items it enumerates, or else its key theses.

An enumeration is a run of ordinal adverbs ("Во-первых, … Во-вторых, …"), of ordinal
words of one gender at a sentence start ("Первое, … Второе — …", "Первый — … Второй: …",
"Первая — … Вторая — …"), of paragraphs headed by an ordinal of their own ("Первое.
Российские регионы …"), a numbered list or a bulleted list. An ordinal word counts only
when a comma, a colon or a dash follows it, or, at a paragraph's start, a full stop:
"Первый вице-премьер заявил" and "Вторая волна …" are ordinary sentences. Each item
becomes a short statement: the first sentence of the item without its marker and the
speech attribution next to it ("как отметил председатель КНР"), first letter capitalised,
on one line. A paragraph-headed item is a section of a speech, often several paragraphs
that open with background: its statement is the sentence that proposes or commits
("Предлагаю …", "Нужно …", "направим …"), with the sentence before it when it refers
back ("её", "таким"). The whole item, verbatim, is kept as the detail.

When a text has several enumerations, the one with the most items wins; among equally
long ones, ordinal adverbs (the words that exist only to enumerate) before other kinds,
then the first: a statement's main list is usually its longest, and a two-item aside
("во-первых, … во-вторых, …" inside a quote) should not hide it. A speech's
paragraph-headed runs are all its lists and count as one.

Not every list is a text's key points. A list of more than `_MAX_POINTS` items is a
catalogue, a table or a reference list; so is one whose items are mostly references;
items that only continue their lead-in ("Пособие выросло для: — тех, кто …;") are the
text's points only when the list is a good part of the text, not one detail of a long
page; and an interview's question-and-answer dashes are no list at all.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.models import KeyPoint, Points
from bot.nlp.lemmas import lemma, parse_tags, words
from bot.nlp.summarizer import rate
from bot.nlp.text import one_line
from bot.nlp.tokenizer import dateline_span, paragraphs, sentence_spans

Span = tuple[int, int]

# --- lexicon ---------------------------------------------------------------------------

# Lemmas of verbs that introduce reported speech. Forms are recognised through
# pymorphy3 lemmas, so "отметила", "подчеркнули", "заявляет" need no listing.
_SPEECH_VERB_LEMMAS = """
отметить отмечать отмечаться указать указывать указываться
подчеркнуть подчеркивать подчеркиваться заявить заявлять заявляться
сказать говорить говориться продолжить продолжать добавить добавлять
сообщить сообщать сообщаться пояснить пояснять объяснить объяснять
констатировать считать полагать думать уверить уверять заверить заверять
напомнить напоминать заметить замечать уточнить уточнять признать признавать
утверждать резюмировать подытожить заключить рассказать рассказывать
написать писать передать передавать цитировать процитировать акцентировать
высказаться
"""
_SPEECH_VERBS = frozenset(_SPEECH_VERB_LEMMAS.split())
# "как уверен эксперт": a short adjective does the speech verb's work.
_SPEECH_ADJECTIVES = frozenset({"уверенный", "убежденный"})
_SPEECH_TAGS = frozenset({"VERB", "PRTS"})  # finite verbs and "как сказано"; not infinitives
# "по словам Си Цзиньпина", "по мнению эксперта", "согласно заявлению МИД".
_SOURCE_NOUNS = frozenset(
    {"слово", "мнение", "оценка", "данные", "данный", "информация", "заявление", "сообщение"}
)
_SOURCE_PREPOSITIONS = frozenset({"по", "согласно"})
# An attribution names a speaker, not an argument: "как отметил председатель КНР Си
# Цзиньпин" is six words; a longer clause is more likely content.
_MAX_ATTRIBUTION_WORDS = 8
_MAX_TRAILING_ATTRIBUTION_WORDS = 6
# Words that may stand before a marker without carrying content: "И во-вторых, …",
# "Наконец, в-четвертых, …", "Потому что, во-первых, …".
_FILLER_LEADS = frozenset(
    {
        "и", "а", "но", "также", "а также", "и также", "наконец", "и наконец",
        "потому что", "так как", "поскольку", "ведь", "итак", "кроме того",
    }
)  # fmt: skip
# "Поскольку у нас общая граница, да, то есть компании, которые, во-первых, …": the
# condition before "то" is not the item's; its main clause is.
_CONDITION_LEAD = re.compile(
    r"^(?:поскольку|так как|раз|если|когда|хотя)\s[^.!?]*?,\s*(?:(?:да|ну|вот),\s*)?то\s+",
    re.IGNORECASE,
)
# A section's statement is the sentence that proposes, asks or commits: lemmas of
# "предлагаю", "прошу", "нужно", "надо", "необходимо", "должны", "следует", "поручаю".
_PROPOSAL_WORDS = """
предлагать предложить просить попросить нужно нужный надо необходимо необходимый
должный следовать поручать поручить
"""
_PROPOSAL_LEMMAS = frozenset(_PROPOSAL_WORDS.split())
# Words that refer back to the sentence before: "Предлагаю её продлить",
# "направим таким регионам".
_ANAPHOR_WORDS = """
его её ее их него неё нее них ним ней ими нему нею он она оно они этот эта это эти этого
этой этим этих этому эту такой такая такое такие такого такому таким такую такими таких
"""
_ANAPHORS = frozenset(_ANAPHOR_WORDS.split())

_ORDINAL_ADVERBS = {
    "первых": 1, "вторых": 2, "третьих": 3, "четвертых": 4, "пятых": 5,
    "шестых": 6, "седьмых": 7, "восьмых": 8, "девятых": 9, "десятых": 10,
}  # fmt: skip
_ORDINAL_WORDS = {
    "первое": 1, "второе": 2, "третье": 3, "четвертое": 4, "пятое": 5,
    "шестое": 6, "седьмое": 7, "восьмое": 8, "девятое": 9, "десятое": 10,
}  # fmt: skip
# "Первый — расширение торговли. Второй — инвестиции." names items of a masculine noun
# ("пункт", "вопрос"); "Первая: …, Вторая: …" of a feminine one ("задача", "причина").
_MASCULINE_ORDINAL_WORDS = {
    "первый": 1, "второй": 2, "третий": 3, "четвертый": 4, "пятый": 5,
    "шестой": 6, "седьмой": 7, "восьмой": 8, "девятый": 9, "десятый": 10,
}  # fmt: skip
_FEMININE_ORDINAL_WORDS = {
    "первая": 1, "вторая": 2, "третья": 3, "четвертая": 4, "пятая": 5,
    "шестая": 6, "седьмая": 7, "восьмая": 8, "девятая": 9, "десятая": 10,
}  # fmt: skip
# An enumeration keeps to one noun, so one gender: "Первое, … Второй — …" is no run.
_ORDINAL_WORD_GENDERS = (_ORDINAL_WORDS, _MASCULINE_ORDINAL_WORDS, _FEMININE_ORDINAL_WORDS)
_ALL_ORDINAL_WORDS = {form: n for forms in _ORDINAL_WORD_GENDERS for form, n in forms.items()}

# --- patterns --------------------------------------------------------------------------

_SP = r"[^\S\n]"  # a space that is not a line break
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_HYPHEN = rf"[-\u00ad{_DASHES}]"
# What follows a marker: a comma, a colon or a dash (a bare hyphen only when spaced).
_MARKER_PUNCT = rf"{_SP}*(?:[,:{_DASHES}]|-{{1,2}}(?=\s))"


def _alternation(forms: dict[str, int]) -> str:
    return "|".join(form.replace("е", "[её]") for form in forms)


# "во-первых", "в‑третьих", "во первых", "вопервых"; the number is looked up by word.
_ADVERB = re.compile(
    rf"(?<![\w{_DASHES}-])во?(?P<sep>{_SP}*{_HYPHEN}+{_SP}*|{_SP}+|)"
    rf"(?P<ordinal>{_alternation(_ORDINAL_ADVERBS)})(?![\w-])",
    re.IGNORECASE,
)
_PUNCT_AHEAD = re.compile(_MARKER_PUNCT)
_ORDINAL_WORD = re.compile(
    rf"(?<![\w-])(?P<ordinal>{_alternation(_ALL_ORDINAL_WORDS)})(?={_MARKER_PUNCT})",
    re.IGNORECASE,
)
# "Первое. Российские регионы …": an ordinal that is a sentence of its own at a
# paragraph's start heads a section of a speech.
_SECTION_ORDINAL = re.compile(
    rf"{_SP}*(?P<ordinal>{_alternation(_ORDINAL_WORDS)})\.(?=\s|$)", re.IGNORECASE
)
# "Первый, второй и третий этапы …" lists ordinals as adjectives; it marks no item.
_NEXT_ORDINAL_WORD = re.compile(
    rf"{_MARKER_PUNCT}{_SP}*(?:{_alternation(_ALL_ORDINAL_WORDS)})(?![\w-])", re.IGNORECASE
)
# "Наконец, …", "И, наконец, …" closes a run of ordinals as its last item.
_FINALLY = re.compile(
    rf"(?<![\w-])(?:и{_SP}*,?{_SP}*)?наконец(?![\w-])(?={_MARKER_PUNCT})", re.IGNORECASE
)
_NUMBERED = re.compile(rf"{_SP}*(?P<number>\d{{1,2}}){_SP}*[.)](?!\d){_SP}*(?=\S)")
# Dash bullets need a space after them: "-5 градусов" starts no list item.
_BULLET = re.compile(rf"{_SP}*(?:[-*{_DASHES}]{_SP}+|[•·▪●◦‣■►➢]{_SP}*)(?=\S)")
_DASH_BULLET = re.compile(rf"{_SP}*[-{_DASHES}]")
# "— Мы готовы, — сказал министр." is a quoted line of dialogue, not a list item.
_DIALOGUE = re.compile(rf"[,!?…]{_SP}*[-{_DASHES}]{{1,2}}{_SP}+(?P<word>\w+)")

# Punctuation between a marker and what follows: ", ", ": ", " — ", ", — ".
_LEADING_PUNCT = re.compile(rf"^[\s,:;]*(?:(?:[{_DASHES}]+|-{{1,2}}(?=\s))\s*)?")
# One clause up to a comma or a dash: ", как отметил председатель КНР," "— заявил он, —".
_CLAUSE = re.compile(
    rf"(?P<clause>[^,;:.!?«»\"()\n{_DASHES}]+?){_SP}*"
    rf"(?:,{_SP}*(?:(?:[{_DASHES}]+|-{{1,2}}(?=\s)){_SP}*)?|[{_DASHES}]+{_SP}*|-{{1,2}}{_SP}+)"
)
_THAT = re.compile(r"^что\s+", re.IGNORECASE)
_ENDS_WITH_THAT = re.compile(r"(?:^|[\s,])что$", re.IGNORECASE)
# "…, считает эксперт." at the end of the statement's sentence.
_TRAILING = re.compile(
    rf"^(?P<keep>.*?[^\s,{_DASHES}-]){_SP}*,{_SP}*(?:(?:[{_DASHES}]+|-{{1,2}}){_SP}*)?"
    rf"(?P<clause>[^,;:.!?«»\"()\n{_DASHES}]+?)(?P<stop>[.!?…]*)$",
    re.DOTALL,
)
_TRAILING_CONJUNCTION = re.compile(r"\s+(?:и|а|а также|также|или)$", re.IGNORECASE)
_STATEMENT_EDGE = " \t\n,;:" + _DASHES + "-"

# A numbered item may run over a few more paragraphs before the next number.
_MAX_CONTINUATION_LINES = 3
_MIN_ITEMS = 2
# More items than this are a catalogue, a table or a reference list, not key points.
_MAX_POINTS = 12
# Items that only continue their lead-in must take up this share of the text: one
# detail of a long page ("Пособие выросло для: — тех, кто …") is not its points.
_MIN_FRAGMENT_LIST_SHARE = 0.15
# Two dash lines that ask make the text an interview: its dashes are turns, not items.
_INTERVIEW_QUESTIONS = 2
# "^ Harris, Bruce (2009). … Retrieved 28 August 2016.", "… // Вестник МГУ. С. 12–15."
_REFERENCE = re.compile(
    r"^\s*\^|\bRetrieved\b|\bArchived\b|\bISBN\b|\bdoi\b|https?://|www\.|//"
    r"|\(дата\s+обращения|\bС\.\s*\d",
    re.IGNORECASE,
)
# A section's statement says something: "Вот что хочу сказать." is too short to.
_MIN_SECTION_SENTENCE_WORDS = 5


# --- data --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Marker:
    start: int
    end: int
    number: int
    # "Первое." heading its paragraph: the item is a section, not a sentence.
    section: bool = False


@dataclass(frozen=True, slots=True)
class _Item:
    lead_start: int  # the item's sentence start: words before the marker are a lead-in
    marker_start: int
    marker_end: int
    body_end: int  # where the item's own words end
    detail: Span
    # The marker is not the first in its sentence ("нужно, во-первых, X, во-вторых, Y"):
    # the lead-in of the sentence's first item applies to this one too.
    shares_sentence: bool = False
    # A paragraph-headed item: its statement is its key sentence, not its first.
    section: bool = False


@dataclass(frozen=True, slots=True)
class _Layout:
    """Paragraphs and sentences of a text as offsets; the lead's dateline is left out."""

    paragraphs: list[Span]
    sentences: list[Span]
    sentence_paragraph: list[int]
    starts: list[int]

    def sentence_at(self, pos: int) -> int | None:
        index = bisect_right(self.starts, pos) - 1
        if index < 0 or pos >= self.sentences[index][1]:
            return None
        return index


def _layout(text: str) -> _Layout:
    paragraph_spans = paragraphs(text)
    dateline = dateline_span(text)
    sentences: list[Span] = []
    owners: list[int] = []
    for number, (start, end) in enumerate(paragraph_spans):
        if dateline is not None and start <= dateline[0] < end:
            start = dateline[1]
        for s, e in sentence_spans(text[start:end]):
            sentences.append((start + s, start + e))
            owners.append(number)
    return _Layout(paragraph_spans, sentences, owners, [s for s, _ in sentences])


# --- attribution -------------------------------------------------------------------------


def _is_speech_word(word: str) -> bool:
    base = lemma(word)
    if base in _SPEECH_VERBS:
        return bool(parse_tags(word) & _SPEECH_TAGS)
    return base in _SPEECH_ADJECTIVES and "ADJS" in parse_tags(word)


def _attribution_kind(clause: str, *, before_that: bool = False) -> str | None:
    """How `clause` attributes speech, or None when it says something itself.

    "source": "по словам X"; "as": "как отметил X"; "inverted": "продолжил председатель
    КНР"; "said": "Китайский лидер отметил" (then a "что" may follow and goes too).
    """
    # A cheap bound first: tokenizing a long lead only to reject it made one long
    # sentence with many markers quadratic.
    if len(clause.split()) > 2 * _MAX_ATTRIBUTION_WORDS:
        return None
    tokens = [w.lower().replace("ё", "е") for w in words(clause)]
    if not tokens or len(tokens) > _MAX_ATTRIBUTION_WORDS:
        return None
    if tokens[0] in _SOURCE_PREPOSITIONS and any(lemma(w) in _SOURCE_NOUNS for w in tokens[1:3]):
        return "source"
    if tokens[0] == "как":
        return "as" if any(_is_speech_word(w) for w in tokens[1:]) else None
    if _is_speech_word(tokens[0]):
        return "inverted"
    # "Стороны подчеркнули важность диалога" is content; "Он отметил" and
    # "Министр заявил журналистам, что" are not.
    if _is_speech_word(tokens[-1]) or (before_that and any(map(_is_speech_word, tokens))):
        return "said"
    return None


def _strip_leading_attribution(body: str) -> tuple[str, bool]:
    """`body` without the punctuation and attribution right after a marker; True when a
    "that"-clause may follow ("во-первых, он сказал, что …")."""
    rest = _LEADING_PUNCT.sub("", body, count=1)
    match = _CLAUSE.match(rest)
    if match is None:
        return rest, False
    after = rest[match.end() :]
    kind = _attribution_kind(match["clause"], before_that=_THAT.match(after) is not None)
    if kind is None:
        return rest, False
    return after, kind == "said"


def _clean_lead(lead: str, *, before_that: bool) -> tuple[str, bool]:
    """The content of the words before a marker in its sentence ("" when they are only an
    attribution or a conjunction), and whether a "что" after the marker is theirs."""
    lead = lead.strip().rstrip(_STATEMENT_EDGE)
    if not lead or " ".join(lead.lower().replace(",", " ").split()) in _FILLER_LEADS:
        return "", False
    condition = _CONDITION_LEAD.match(lead)
    if condition is not None and condition.end() < len(lead):
        lead = lead[condition.end() :]
    if _ENDS_WITH_THAT.search(lead):
        # "Он отметил, что, во-первых, …"
        without = lead[:-3].rstrip(_STATEMENT_EDGE)
        if _attribution_kind(without, before_that=True):
            return "", False
    kind = _attribution_kind(lead, before_that=before_that)
    if kind is not None:
        return "", kind == "said"
    return lead, False


def _strip_trailing_attribution(sentence: str) -> str:
    match = _TRAILING.match(sentence)
    if match is None:
        return sentence
    clause = match["clause"]
    if len(clause.split()) > 2 * _MAX_TRAILING_ATTRIBUTION_WORDS:
        return sentence
    if len(words(clause)) > _MAX_TRAILING_ATTRIBUTION_WORDS:
        return sentence
    # Only "…, считает эксперт." and "…, по словам министра.": "…, как сказал X" may
    # compare rather than attribute, so it stays.
    if _attribution_kind(clause) not in {"inverted", "source"}:
        return sentence
    return match["keep"] + match["stop"]


# --- finding enumerations ----------------------------------------------------------------


def _at_clause_start(text: str, sentence_start: int, pos: int, *, after_comma: bool) -> bool:
    before = text[sentence_start:pos].rstrip()
    if not before:
        return True
    marks = ':;,«"(' if after_comma else ':;«"('
    return before[-1] in marks


def _adverb_markers(text: str, layout: _Layout) -> list[_Marker]:
    found: list[_Marker] = []
    for match in _ADVERB.finditer(text):
        if layout.sentence_at(match.start()) is None:
            continue
        if match["sep"].strip() == "" and match["sep"]:
            # "во вторых" with a plain space is also "в третьих странах": count it only
            # when punctuation sets it off as a parenthetical word.
            set_off = _PUNCT_AHEAD.match(text, match.end()) is not None
            if not set_off and not text[: match.start()].rstrip().endswith(","):
                continue
        number = _ORDINAL_ADVERBS[match["ordinal"].lower().replace("ё", "е")]
        found.append(_Marker(match.start(), match.end(), number))
    return found


def _word_markers(text: str, layout: _Layout) -> list[list[_Marker]]:
    """Ordinal-word markers, one list per gender."""
    found: list[list[_Marker]] = [[] for _ in _ORDINAL_WORD_GENDERS]
    for match in _ORDINAL_WORD.finditer(text):
        index = layout.sentence_at(match.start())
        if index is None:
            continue
        if not _at_clause_start(text, layout.sentences[index][0], match.start(), after_comma=False):
            continue
        if _NEXT_ORDINAL_WORD.match(text, match.end()):
            continue
        form = match["ordinal"].lower().replace("ё", "е")
        for forms, markers in zip(_ORDINAL_WORD_GENDERS, found, strict=True):
            if form in forms:
                markers.append(_Marker(match.start(), match.end(), forms[form]))
    return found


def _runs(markers: Sequence[_Marker]) -> Iterator[list[_Marker]]:
    """Coherent runs: 1, 2, 3, … in text order; a lone "first" is no enumeration."""
    current: list[_Marker] = []
    for marker in markers:
        if marker.number == len(current) + 1:
            current.append(marker)
            continue
        if len(current) >= _MIN_ITEMS:
            yield current
        current = [marker] if marker.number == 1 else []
    if len(current) >= _MIN_ITEMS:
        yield current


def _with_finally(text: str, layout: _Layout, run: list[_Marker]) -> list[_Marker]:
    """The run plus a closing "наконец" item, in the last item's paragraph or opening
    the next one."""
    last = run[-1]
    index = layout.sentence_at(last.start)
    if index is None:
        return run
    paragraph = layout.sentence_paragraph[index]
    paragraph_end = layout.paragraphs[paragraph][1]
    following = layout.paragraphs[paragraph + 1] if paragraph + 1 < len(layout.paragraphs) else None
    limit = following[1] if following else paragraph_end
    for match in _FINALLY.finditer(text, last.end, limit):
        at = layout.sentence_at(match.start())
        if at is None:
            continue
        if match.start() < paragraph_end:
            if not _at_clause_start(text, layout.sentences[at][0], match.start(), after_comma=True):
                continue
        elif following is None or match.start() != following[0]:
            break
        return [*run, _Marker(match.start(), match.end(), len(run) + 1)]
    return run


def _ordinal_items(
    text: str, layout: _Layout, run: list[_Marker], stops: Sequence[int]
) -> list[_Item]:
    items: list[_Item] = []
    previous_sentence: int | None = None
    for i, marker in enumerate(run):
        index = layout.sentence_at(marker.start)
        if index is None:
            return []
        sentence_start, sentence_end = layout.sentences[index]
        if i + 1 < len(run):
            following = run[i + 1]
            next_index = layout.sentence_at(following.start)
            if next_index == index:
                body_end, detail_end = following.start, sentence_end
            else:
                next_start = (
                    layout.sentences[next_index][0] if next_index is not None else following.start
                )
                body_end = detail_end = next_start
        else:
            # The last item ends with its paragraph, or where another marker starts.
            detail_end = layout.paragraphs[layout.sentence_paragraph[index]][1]
            for stop in stops:
                stop_index = layout.sentence_at(stop)
                if stop_index is None or stop_index == index:
                    continue
                if marker.end <= stop < detail_end:
                    detail_end = layout.sentences[stop_index][0]
                    break
            body_end = detail_end
        shares = previous_sentence == index
        items.append(
            _Item(
                lead_start=marker.start if shares else sentence_start,
                marker_start=marker.start,
                marker_end=marker.end,
                body_end=body_end,
                detail=(sentence_start, detail_end),
                shares_sentence=shares,
            )
        )
        previous_sentence = index
    return items


def _section_markers(text: str, layout: _Layout) -> list[_Marker]:
    found: list[_Marker] = []
    for start, end in layout.paragraphs:
        match = _SECTION_ORDINAL.match(text, start, end)
        if match is not None:
            number = _ORDINAL_WORDS[match["ordinal"].lower().replace("ё", "е")]
            found.append(_Marker(match.start("ordinal"), match.end(), number, section=True))
    return found


def _ends_sentence(paragraph: str) -> bool:
    return paragraph.rstrip().rstrip('»"”)').endswith((".", "!", "?", "…", ":", ";"))


def _section_items(layout: _Layout, text: str, run: list[_Marker]) -> list[_Item]:
    """Each item runs to the next one's paragraph; the last one on for as many
    paragraphs as the longest before it, up to a title line."""
    starts = [start for start, _ in layout.paragraphs]
    firsts = [bisect_right(starts, marker.start) - 1 for marker in run]
    items: list[_Item] = []
    longest = 1
    for k, (marker, first) in enumerate(zip(run, firsts, strict=True)):
        if k + 1 < len(run):
            last = firsts[k + 1] - 1
            longest = max(longest, last - first + 1)
        else:
            last = first
            while last + 1 < len(layout.paragraphs) and last + 1 - first < longest:
                start, end = layout.paragraphs[last + 1]
                if not _ends_sentence(text[start:end]):
                    break
                last += 1
        end = layout.paragraphs[last][1]
        detail = (layout.paragraphs[first][0], end)
        items.append(_Item(marker.start, marker.start, marker.end, end, detail, section=True))
    return items


# Kinds of enumeration, in the order that breaks a tie between equally long ones.
_LISTS, _WORDS, _SECTIONS, _ADVERBS = range(4)
_MAX_RUNS = 20


def _enumerated_runs(text: str) -> Iterator[tuple[int, list[_Item]]]:
    if not any(p.search(text) for p in (_ADVERB, _ORDINAL_WORD, _SECTION_ORDINAL)):
        return  # most texts enumerate nothing: no need to split them into sentences
    layout = _layout(text)
    kinds = (_ADVERBS, *(_WORDS for _ in _ORDINAL_WORD_GENDERS))
    for kind, markers in zip(
        kinds, (_adverb_markers(text, layout), *_word_markers(text, layout)), strict=True
    ):
        # Real texts hold one or two enumerations; checking each run scans to its
        # paragraph's end, so a hostile text of thousands of runs is looked at in part.
        for run in itertools.islice(_runs(markers), _MAX_RUNS):
            run = _with_finally(text, layout, run)
            in_run = {m.start for m in run}
            stops = [m.start for m in markers if m.start not in in_run]
            items = _ordinal_items(text, layout, run, stops)
            if items:
                yield kind, items
    for run in itertools.islice(_runs(_section_markers(text, layout)), _MAX_RUNS):
        yield _SECTIONS, _section_items(layout, text, run)


def _lines(text: str) -> list[Span]:
    out: list[Span] = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        if line.strip():
            out.append((start, end))
        start = end + 1
    return out


def _is_dialogue(line: str) -> bool:
    # Interviews print questions and answers as dash lines; a list item rarely asks.
    if _asks(line):
        return True
    return any(_is_speech_word(m["word"]) for m in _DIALOGUE.finditer(line))


def _numbered_runs(text: str, lines: list[Span]) -> Iterator[list[_Item]]:
    # (line index, marker start, marker end) of the current run's items.
    current: list[tuple[int, int, int]] = []
    gap = 0

    def close() -> list[_Item]:
        items = []
        for k, (line, marker_start, marker_end) in enumerate(current):
            # Paragraphs between two numbers belong to the earlier item.
            last_line = current[k + 1][0] - 1 if k + 1 < len(current) else line
            detail = (marker_end, lines[last_line][1])
            items.append(_Item(marker_start, marker_start, marker_end, lines[line][1], detail))
        return items if len(items) >= _MIN_ITEMS else []

    for index, (start, end) in enumerate(lines):
        match = _NUMBERED.match(text, start, end)
        if match is None:
            gap += 1
            if current and gap > _MAX_CONTINUATION_LINES:
                if items := close():
                    yield items
                current = []
            continue
        gap = 0
        number = int(match["number"])
        entry = (index, match.start("number"), match.end())
        if number == len(current) + 1:
            current.append(entry)
            continue
        if items := close():
            yield items
        current = [entry] if number == 1 else []
    if items := close():
        yield items


def _asks(line: str) -> bool:
    return line.rstrip().rstrip('»"”)').endswith("?")


def _bulleted_runs(text: str, lines: list[Span]) -> Iterator[list[_Item]]:
    dash_lines = [text[start:end] for start, end in lines if _DASH_BULLET.match(text, start, end)]
    # In an interview every dash line is a turn, the answers as much as the questions.
    interview = sum(map(_asks, dash_lines)) >= _INTERVIEW_QUESTIONS
    current: list[_Item] = []
    for start, end in lines:
        match = _BULLET.match(text, start, end)
        line = text[start:end]
        if match is not None and _DASH_BULLET.match(line) and (interview or _is_dialogue(line)):
            match = None
        if match is None:
            if len(current) >= _MIN_ITEMS:
                yield current
            current = []
            continue
        marker_start = start + len(line) - len(line.lstrip())
        current.append(_Item(marker_start, marker_start, match.end(), end, (match.end(), end)))
    if len(current) >= _MIN_ITEMS:
        yield current


# --- statements --------------------------------------------------------------------------


def _capitalized(statement: str) -> str:
    """The first letter in upper case, when the statement starts with a word: «31-летний»
    and "6/64 ГБ" start with a number and stay as they are."""
    first = next((i for i, ch in enumerate(statement) if ch.isalnum()), None)
    if first is None or not statement[first].isalpha():
        return statement
    return statement[:first] + statement[first].upper() + statement[first + 1 :]


# A point is meant to be short: its first sentence is looked for this far into the item,
# and one longer than that is cut at a word (the whole passage stays in `detail`). Without
# the bound, one huge sentence with many markers is split again for every marker.
_MAX_POINT_CHARS = 1200


def _first_sentence(body: str) -> str:
    window = body[:_MAX_POINT_CHARS]
    spans = sentence_spans(window)
    if not spans:
        return window.strip()
    start, end = spans[0]
    if len(body) <= _MAX_POINT_CHARS or len(spans) > 1 or end < len(window.rstrip()):
        return body[start:end]
    cut = window.rfind(" ", 0, _MAX_POINT_CHARS - 1)
    return body[start : cut if cut > start else _MAX_POINT_CHARS - 1].rstrip(" ,;:") + "…"


# A section is read this far for its key sentence: a speech's section is a few
# paragraphs, and a hostile text's must not cost a lemma for every word of a megabyte.
_MAX_SECTION_CHARS = 20_000


def _has_number(sentence_words: Sequence[str]) -> bool:
    return any(ch.isdigit() for w in sentence_words for ch in w) or any(
        "NUMR" in parse_tags(w) for w in sentence_words
    )


def _proposes(sentence_words: Sequence[str]) -> bool:
    for word in sentence_words:
        if lemma(word) in _PROPOSAL_LEMMAS:
            return True
        tags = parse_tags(word)
        # "направим", "запустим", "продлим"; not "напомню", "скажу": those only speak.
        if {"VERB", "1per", "futr"} <= tags and lemma(word) not in _SPEECH_VERBS:
            return True
    return False


def _refers_back(sentence_words: Sequence[str]) -> bool:
    return any(w.lower() in _ANAPHORS for w in sentence_words)


def _section_statement(text: str, item: _Item) -> str:
    """The section's key sentence: the first that proposes or commits, a number making
    it likelier; the sentence before it too when it refers back to it."""
    body = text[item.marker_end : min(item.body_end, item.marker_end + _MAX_SECTION_CHARS)]
    sentences = [
        body[start + s : start + e]
        for start, end in paragraphs(body)
        for s, e in sentence_spans(body[start:end])
    ]
    best: tuple[float, int] | None = None
    eligible: list[bool] = []
    tokens: list[list[str]] = []
    for index, sentence in enumerate(sentences):
        found = words(sentence)
        tokens.append(found)
        eligible.append(len(found) >= _MIN_SECTION_SENTENCE_WORDS and not _asks(sentence))
        if not eligible[-1]:
            continue
        score = float(_proposes(found)) + 0.5 * _has_number(found)
        if best is None or score > best[0]:
            best = (score, index)
    if best is None:
        return _first_sentence(body.strip())
    index = best[1]
    chosen = sentences[index]
    if index > 0 and eligible[index - 1] and _refers_back(tokens[index]):
        with_context = f"{sentences[index - 1]} {chosen}"
        if len(with_context) <= _MAX_POINT_CHARS:
            return with_context
    return _first_sentence(chosen)


def _statement(text: str, item: _Item, inherited_lead: str) -> tuple[str, str]:
    """(the item's statement, the lead-in a later item in the same sentence inherits)."""
    if item.section:
        return _capitalized(one_line(_section_statement(text, item).strip())), ""
    body, body_said = _strip_leading_attribution(text[item.marker_end : item.body_end])
    if item.shares_sentence:
        lead, lead_said = inherited_lead, False
    else:
        lead, lead_said = _clean_lead(
            text[item.lead_start : item.marker_start], before_that=_THAT.match(body) is not None
        )
    if body_said or lead_said:
        body = _THAT.sub("", body, count=1)
    sentence = _strip_trailing_attribution(_first_sentence(body).strip())
    sentence = _TRAILING_CONJUNCTION.sub("", sentence.rstrip(_STATEMENT_EDGE))
    sentence = sentence.rstrip(_STATEMENT_EDGE)
    statement = f"{lead} {sentence}" if lead and sentence else sentence
    return _capitalized(one_line(statement.strip())), lead


def _key_points(text: str, items: list[_Item]) -> tuple[KeyPoint, ...]:
    points: list[KeyPoint] = []
    lead = ""
    for item in items:
        statement, lead = _statement(text, item, lead)
        detail = text[item.detail[0] : item.detail[1]].strip()
        if statement:
            points.append(KeyPoint(text=statement, detail=detail))
    return tuple(points)


# --- theses ------------------------------------------------------------------------------

# Theses come from this many of the summarizer's best sentences per thesis asked for:
# central enough, and more of them than a summary shows, to choose by their facts.
_THESIS_POOL = 3
_FACT_TAGS = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr"})
# Openings that tie a sentence to the one before and say nothing themselves.
_CONNECTIVE = re.compile(
    r"^(?:(?:при этом|кроме того|помимо этого|к тому же|между тем|тем временем|вместе с тем"
    r"|в то же время|в свою очередь|также|однако)\b,?"
    r"|(?:так|кстати|впрочем|итак|наконец|напомним|отметим|заметим)\s*,)"
    r"(?:\s*что\b)?\s*",
    re.IGNORECASE,
)
_PRONOUNS = frozenset({"я", "мы", "он", "она", "оно", "они"})
# A cut that leaves fewer words than this is not a thesis: the sentence stays whole.
_MIN_THESIS_WORDS = 4
_MAX_THESIS_SPEAKER_WORDS = 16


def _facts(sentence: str) -> frozenset[str]:
    """What a sentence states that another would not: numbers, names, places, bodies."""
    found: set[str] = set()
    for i, word in enumerate(words(sentence)):
        if any(ch.isdigit() for ch in word):
            found.add(word.lower())
            continue
        tags = parse_tags(word)
        latin_name = not tags and word[:1].isupper()
        named = bool(tags & _FACT_TAGS) or (i > 0 and word[:1].isupper()) or latin_name
        if named or "NUMR" in tags:
            found.add(lemma(word))
    return frozenset(found)


def _main_clause(sentence: str) -> str:
    """The sentence without what only links or attributes it, where that leaves a
    statement: "При этом, по словам министра, бюджет вырастет, сообщает ТАСС." ->
    "Бюджет вырастет." A named speaker who "заявил, что" stays: the claim is theirs."""
    cut = _CONNECTIVE.sub("", sentence, count=1)
    rest = _LEADING_PUNCT.sub("", cut, count=1)
    match = _CLAUSE.match(rest)
    if match is not None:
        after = rest[match.end() :]
        kind = _attribution_kind(match["clause"], before_that=_THAT.match(after) is not None)
        speaker = words(match["clause"])[:1]
        pronoun = bool(speaker) and speaker[0].lower() in _PRONOUNS
        if kind in ("source", "as", "inverted") or (kind == "said" and pronoun):
            # "Сообщается, что …", "Он отметил, что …": the "что" goes with them.
            cut = _THAT.sub("", after, count=1)
    cut = _strip_trailing_attribution(cut.strip())
    # "…, сообщил РИА Новости управляющий партнёр агентства Илья Березнюк.": a speaker
    # with a title is longer than a point's attribution, and as plainly not the claim.
    trailing = _TRAILING.match(cut)
    if trailing is not None:
        speaker = words(trailing["clause"])
        if speaker and len(speaker) <= _MAX_THESIS_SPEAKER_WORDS and _is_speech_word(speaker[0]):
            cut = trailing["keep"] + trailing["stop"]
    return cut if len(words(cut)) >= _MIN_THESIS_WORDS else sentence


def _pick_theses(pool: list[tuple[int, frozenset[str], float]], count: int) -> list[int]:
    """Greedily the sentence that adds the most facts not yet stated (the better rated
    first on a tie), `count` of them, in the order picked."""
    chosen: list[int] = []
    covered: set[str] = set()
    left = list(pool)
    while left and len(chosen) < count:
        best = max(left, key=lambda c: (len(c[1] - covered), c[2]))
        left.remove(best)
        chosen.append(best[0])
        covered |= best[1]
    return chosen


def _theses(text: str, *, algorithm: str, count: int) -> tuple[KeyPoint, ...]:
    """The sentences among the summarizer's best that carry the most distinct facts, each
    cut to its main clause, in the text's order: more than the summary's own choice."""
    found = rate(text, algorithm=algorithm, sentences=count)
    rated = found.sentences
    by_score = sorted(range(len(rated)), key=lambda i: -rated[i][1])
    pool = [(i, _facts(rated[i][0].text), rated[i][1]) for i in by_score[: _THESIS_POOL * count]]
    picks = _pick_theses(pool, count)
    statements = {i: _capitalized(one_line(_main_clause(rated[i][0].text))) for i, _, _ in pool}
    summary = list(found.summary)
    if len(picks) > 1 and [statements[i] for i in sorted(picks)] == summary:
        # Word for word the summary: the pick that added least goes, for the next best
        # sentence when there is one.
        dropped = picks.pop()
        left = [c for c in pool if c[0] not in picks and c[0] != dropped]
        covered = frozenset().union(*(c[1] for c in pool if c[0] in picks))
        picks += _pick_theses([(i, f - covered, r) for i, f, r in left], 1)
    paragraph_spans = paragraphs(text)
    starts = [start for start, _ in paragraph_spans]
    points: list[KeyPoint] = []
    for i in sorted(picks):
        sentence = rated[i][0]
        index = bisect_right(starts, sentence.start) - 1
        detail = text[slice(*paragraph_spans[index])] if index >= 0 else sentence.text
        points.append(KeyPoint(text=statements[i], detail=detail.strip()))
    return tuple(points)


def _is_fragment(body: str) -> bool:
    """A list item that goes on from its lead-in: "тех, кто …;", "пособия - 1 млрд;"."""
    first = next((ch for ch in body if ch.isalnum()), "")
    return first.islower() or body.rstrip().endswith((";", ","))


def _looks_like_points(text: str, items: list[_Item]) -> bool:
    """Whether a numbered or bulleted list is the text's points (see the module's notes)."""
    if len(items) > _MAX_POINTS:
        return False
    bodies = [text[item.marker_end : item.body_end] for item in items]
    if 2 * sum(bool(_REFERENCE.search(b)) for b in bodies) > len(bodies):
        return False
    if 2 * sum(map(_is_fragment, bodies)) > len(bodies):
        span = items[-1].detail[1] - items[0].marker_start
        return span >= _MIN_FRAGMENT_LIST_SHARE * len(text.strip())
    return True


def _enumeration(text: str) -> tuple[KeyPoint, ...]:
    lines = _lines(text)
    lists = [*_numbered_runs(text, lines), *_bulleted_runs(text, lines)]
    candidates: list[tuple[int, list[_Item]]] = [
        *_enumerated_runs(text),
        *((_LISTS, items) for items in lists if _looks_like_points(text, items)),
    ]
    best: tuple[KeyPoint, ...] = ()
    best_key = (0, 0, 0)
    sections: list[KeyPoint] = []
    sections_start = len(text)
    for kind, items in candidates:
        points = _key_points(text, items)
        if len(points) < _MIN_ITEMS:
            continue
        start = items[0].marker_start
        if kind == _SECTIONS:
            # A speech's paragraph-headed lists are all its points.
            sections += [p for p in points if p not in sections]
            sections_start = min(sections_start, start)
            continue
        key = (len(points), kind, -start)
        if key > best_key:
            best, best_key = points, key
    if sections and (len(sections), _SECTIONS, -sections_start) > best_key:
        return tuple(sections[:_MAX_POINTS])
    return best


def extract_points(text: str, *, theses: int = 3, algorithm: str = "lexrank") -> Points:
    """The points a text enumerates, or, when it enumerates nothing, its key theses."""
    if not text.strip():
        return Points(items=(), enumerated=False)
    if found := _enumeration(text):
        return Points(items=found, enumerated=True)
    return Points(items=_theses(text, algorithm=algorithm, count=theses), enumerated=False)
