"""Key points of a statement: the items it enumerates, or else its key theses.

An enumeration is a run of ordinal adverbs ("Во-первых, … Во-вторых, …"), of ordinal
words of one gender at a sentence start ("Первое, … Второе — …", "Первый — … Второй: …",
"Первая — … Вторая — …"), a numbered list or a bulleted list. An ordinal word counts only
when a comma, a colon or a dash follows it: "Первый вице-премьер заявил" and "Вторая
волна …" are ordinary sentences. Each item becomes a short statement: the first sentence
of the item without its marker and the speech attribution next to it ("как отметил
председатель КНР"), first letter capitalised. The whole item, verbatim, is kept as the detail.

When a text has several enumerations, the one with the most items wins and, among
equally long ones, the first: a statement's main list is usually its longest, and a
two-item aside ("во-первых, … во-вторых, …" inside a quote) should not hide it.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bot.models import KeyPoint, Points
from bot.nlp.lemmas import lemma, parse_tags, words
from bot.nlp.summarizer import summarize
from bot.nlp.text import dateline_end
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
# Words that may stand before a marker without carrying content: "И во-вторых, …".
_FILLER_LEADS = frozenset({"и", "а", "но", "также", "а также", "и также"})

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
_LETTER = re.compile(r"[^\W\d_]")

# A numbered item may run over a few more paragraphs before the next number.
_MAX_CONTINUATION_LINES = 3
_MIN_ITEMS = 2


# --- data --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Marker:
    start: int
    end: int
    number: int


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
    if not lead or lead.lower() in _FILLER_LEADS:
        return "", False
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


_MAX_RUNS = 20


def _enumerated_runs(text: str) -> Iterator[list[_Item]]:
    if _ADVERB.search(text) is None and _ORDINAL_WORD.search(text) is None:
        return  # most texts enumerate nothing: no need to split them into sentences
    layout = _layout(text)
    for markers in (_adverb_markers(text, layout), *_word_markers(text, layout)):
        # Real texts hold one or two enumerations; checking each run scans to its
        # paragraph's end, so a hostile text of thousands of runs is looked at in part.
        for run in itertools.islice(_runs(markers), _MAX_RUNS):
            run = _with_finally(text, layout, run)
            in_run = {m.start for m in run}
            stops = [m.start for m in markers if m.start not in in_run]
            items = _ordinal_items(text, layout, run, stops)
            if items:
                yield items


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
    if line.rstrip().rstrip('»"”)').endswith("?"):
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


def _bulleted_runs(text: str, lines: list[Span]) -> Iterator[list[_Item]]:
    current: list[_Item] = []
    for start, end in lines:
        match = _BULLET.match(text, start, end)
        line = text[start:end]
        if match is not None and _DASH_BULLET.match(line) and _is_dialogue(line):
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
    letter = _LETTER.search(statement)
    if letter is None:
        return statement
    i = letter.start()
    return statement[:i] + statement[i].upper() + statement[i + 1 :]


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


def _statement(text: str, item: _Item, inherited_lead: str) -> tuple[str, str]:
    """(the item's statement, the lead-in a later item in the same sentence inherits)."""
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
    return _capitalized(statement.strip()), lead


def _key_points(text: str, items: list[_Item]) -> tuple[KeyPoint, ...]:
    points: list[KeyPoint] = []
    lead = ""
    for item in items:
        statement, lead = _statement(text, item, lead)
        detail = text[item.detail[0] : item.detail[1]].strip()
        if statement:
            points.append(KeyPoint(text=statement, detail=detail))
    return tuple(points)


def _theses(text: str, *, algorithm: str, count: int) -> tuple[KeyPoint, ...]:
    paragraph_spans = paragraphs(text)
    starts = [start for start, _ in paragraph_spans]
    points: list[KeyPoint] = []
    cursor = 0
    for sentence in summarize(text, algorithm=algorithm, sentences=count):
        # Sentences come back verbatim and in the text's order.
        found = text.find(sentence, cursor)
        if found < 0:
            found = text.find(sentence)
        detail = sentence
        if found >= 0:
            cursor = found + len(sentence)
            index = bisect_right(starts, found) - 1
            if index >= 0 and found < paragraph_spans[index][1]:
                start, end = paragraph_spans[index]
                detail = text[start:end]
        statement = _capitalized(sentence[dateline_end(sentence) :].strip())
        if statement:
            points.append(KeyPoint(text=statement, detail=detail.strip()))
    return tuple(points)


def extract_points(text: str, *, theses: int = 3, algorithm: str = "lexrank") -> Points:
    """The points a text enumerates, or, when it enumerates nothing, its key theses."""
    if not text.strip():
        return Points(items=(), enumerated=False)
    lines = _lines(text)
    best: tuple[KeyPoint, ...] = ()
    best_start = 0
    candidates = [
        *_enumerated_runs(text),
        *_numbered_runs(text, lines),
        *_bulleted_runs(text, lines),
    ]
    for items in candidates:
        points = _key_points(text, items)
        start = items[0].marker_start
        if len(points) < _MIN_ITEMS:
            continue
        if len(points) > len(best) or (len(points) == len(best) and start < best_start):
            best, best_start = points, start
    if best:
        return Points(items=best, enumerated=True)
    return Points(items=_theses(text, algorithm=algorithm, count=theses), enumerated=False)
