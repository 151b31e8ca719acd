"""The same-story decision and the incremental clusterer, on texts written for the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.nlp.lemmas import lemma
from bot.nlp.stories.cluster import Clusterer, Tuning, group, pair_score, same_story
from bot.nlp.stories.features import DocumentFrequencies, Features, extract

T0 = datetime(2024, 10, 20, 9, 0, tzinfo=UTC)

# Background news, so that words every story uses ("заявил", "России") weigh little.
BACKGROUND = [
    (
        "В Москве открылся новый парк",
        "В Москве после реконструкции открылся парк на берегу реки. Мэр города заявил, "
        "что в парке появились велосипедные дорожки и детские площадки.",
    ),
    (
        "Центробанк сохранил ключевую ставку",
        "Банк России сохранил ключевую ставку на прежнем уровне. Регулятор заявил, что "
        "инфляция замедляется, но риски остаются высокими.",
    ),
    (
        "В России выросли продажи новых автомобилей",
        "Продажи новых легковых автомобилей в России выросли на 12% за месяц, сообщили "
        "аналитики. Больше всего покупали китайские кроссоверы.",
    ),
    (
        "Синоптики пообещали тёплую неделю",
        "На следующей неделе в центральной России ожидается тёплая погода, заявили "
        "синоптики. Днём воздух прогреется до 20 градусов.",
    ),
    (
        "Учёные нашли новый вид лягушек",
        "Биологи описали новый вид древесных лягушек в тропических лесах Перу. Учёные "
        "заявили, что вид находится под угрозой исчезновения.",
    ),
    (
        "Спортсмены вернулись со сборов",
        "Российские лыжники вернулись с тренировочных сборов в горах. Тренер заявил, что "
        "команда готова к новому сезону.",
    ),
]

QUAKE_TASS = (
    "Землетрясение магнитудой 6,1 произошло у берегов Камчатки",
    "Землетрясение магнитудой 6,1 произошло в Тихом океане у восточного побережья "
    "Камчатки, сообщила Камчатская служба сейсмологии. Очаг залегал на глубине 40 км. "
    "Жители Петропавловска-Камчатского ощутили толчки силой до пяти баллов.",
)
QUAKE_RIA = (
    "Мощные толчки ощутили жители Петропавловска-Камчатского",
    "У побережья Камчатки произошло землетрясение магнитудой 6,1, передают сейсмологи. "
    "В Петропавловске-Камчатском толчки достигли пяти баллов, сведений о разрушениях "
    "и пострадавших нет.",
)
VOTE_NOON = (
    "ЦИК Молдавии: после подсчёта 30% протоколов лидирует Санду",
    "Центральная избирательная комиссия Молдавии обработала 30% протоколов. Действующий "
    "президент Майя Санду набирает 38% голосов, Александр Стояногло — 29%.",
)
VOTE_EVENING = (
    "Санду лидирует на выборах в Молдавии после подсчёта 41% протоколов",
    "По данным ЦИК Молдавии, после обработки 41% протоколов Майя Санду набирает 40% "
    "голосов, Александр Стояногло — 27%. Явка превысила 51%.",
)
SPARTAK_WIN = (
    "«Спартак» обыграл «Зенит» в матче РПЛ",
    "Московский «Спартак» на своём поле обыграл петербургский «Зенит» со счётом 2:1. "
    "Победный гол забил Угальде на 88-й минуте.",
)
SPARTAK_LOSS = (
    "«Спартак» крупно проиграл «Локомотиву»",
    "«Спартак» уступил «Локомотиву» со счётом 0:3 в матче кубка России. Все мячи "
    "хозяева забили во втором тайме, у гостей был удалён защитник.",
)
TALKS_KREMLIN = (
    "Путин провёл переговоры с Токаевым в Кремле",
    "Президент России Владимир Путин провёл в Кремле переговоры с президентом "
    "Казахстана Касым-Жомартом Токаевым. Стороны обсудили поставки газа и транзит.",
)
TALKS_AGAIN = (
    "Путин и Токаев провели переговоры в Кремле",
    "В Кремле прошли переговоры Владимира Путина и президента Казахстана Касым-Жомарта "
    "Токаева. Главы государств обсудили поставки газа и транзит через Казахстан.",
)


def features(
    article: tuple[str, str], at: datetime = T0, source: str = "ТАСС", **kwargs: object
) -> Features:
    title, text = article
    return extract(title, text, time=at, source=source)


@pytest.fixture
def df() -> DocumentFrequencies:
    counts = DocumentFrequencies()
    counts.update(features(a) for a in BACKGROUND)
    for pair in (
        (QUAKE_TASS, QUAKE_RIA),
        (VOTE_NOON, VOTE_EVENING),
        (SPARTAK_WIN, SPARTAK_LOSS),
        (TALKS_KREMLIN, TALKS_AGAIN),
    ):
        counts.update(features(a) for a in pair)
    return counts


def test_same_event_from_two_outlets_is_one_story(df: DocumentFrequencies) -> None:
    tass = features(QUAKE_TASS, source="ТАСС")
    ria = features(QUAKE_RIA, T0 + timedelta(minutes=20), source="РИА Новости")
    assert same_story(tass, ria, df)
    assert same_story(ria, tass, df)


def test_an_outlets_update_with_new_figures_joins_its_story(df: DocumentFrequencies) -> None:
    noon = features(VOTE_NOON, source="ТАСС")
    evening = features(VOTE_EVENING, T0 + timedelta(hours=6), source="ТАСС")
    assert same_story(noon, evening, df)


def test_same_topic_different_event_is_two_stories(df: DocumentFrequencies) -> None:
    win = features(SPARTAK_WIN)
    loss = features(SPARTAK_LOSS, T0 + timedelta(hours=3), source="Спорт-Экспресс")
    assert not same_story(win, loss, df)


def test_different_events_score_below_same_event(df: DocumentFrequencies) -> None:
    quake = pair_score(features(QUAKE_TASS), features(QUAKE_RIA), df)
    unrelated = pair_score(features(QUAKE_TASS), features(SPARTAK_WIN), df)
    assert unrelated < Tuning().threshold < quake


def test_same_entities_days_apart_are_different_stories(df: DocumentFrequencies) -> None:
    talks = features(TALKS_KREMLIN)
    close = features(TALKS_AGAIN, T0 + timedelta(hours=2), source="Интерфакс")
    later = features(TALKS_AGAIN, T0 + timedelta(days=9), source="Интерфакс")
    # Two reports of one meeting...
    assert same_story(talks, close, df)
    # ...but nine days on, the same words are about another meeting.
    assert not same_story(talks, later, df)


def test_entities_and_numbers_are_found() -> None:
    f = features(VOTE_EVENING)
    # Names pymorphy3 does not know get its guess of a normal form, the same each time.
    assert {lemma("Санду"), "молдавия", lemma("Стояногло"), "цик"} <= set(f.entities)
    assert {"41", "40", "27", "51"} <= f.numbers
    # Numbers are not terms, and stop words are not either.
    assert "41" not in f.terms and "по" not in f.terms


def test_title_outweighs_lead() -> None:
    f = features(("Обвал на бирже", "Биржа закрылась снижением. Обвал длился час."))
    assert f.terms["биржа"] > f.terms["закрыться"]


def test_features_round_trip_through_json() -> None:
    f = features(QUAKE_TASS)
    assert Features.from_json(f.to_json()) == f


def test_rare_words_weigh_more_than_common_ones(df: DocumentFrequencies) -> None:
    assert df.term_idf("камчатка") > df.term_idf("заявить")


# --- the clusterer ---------------------------------------------------------------------


def test_clusterer_groups_interleaved_stories() -> None:
    clusterer = Clusterer()
    for n, article in enumerate(BACKGROUND):
        clusterer.add(100 + n, features(article, T0 - timedelta(hours=2)))
    stream = [
        (1, QUAKE_TASS, "ТАСС", 0),
        (2, VOTE_NOON, "ТАСС", 10),
        (3, QUAKE_RIA, "РИА Новости", 20),
        (4, SPARTAK_WIN, "Чемпионат", 30),
        (5, VOTE_EVENING, "ТАСС", 360),
    ]
    keys = {
        member: clusterer.add(member, features(a, T0 + timedelta(minutes=m), source=s))
        for member, a, s, m in stream
    }
    assert keys[1] == keys[3]
    assert keys[2] == keys[5]
    assert len({keys[1], keys[2], keys[4]}) == 3
    quake = clusterer.stories[keys[1]]
    assert quake.members == [1, 3]
    assert set(quake.sources) == {"ТАСС", "РИА Новости"}


def test_a_story_that_keeps_growing_stays_open_past_the_window() -> None:
    tuning = Tuning(window=timedelta(hours=12), grace=timedelta(hours=12))
    clusterer = Clusterer(tuning=tuning)
    for n, article in enumerate(BACKGROUND):
        clusterer.add(100 + n, features(article, T0))
    first = clusterer.add(1, features(VOTE_NOON, T0))
    # Each update comes within the window of the one before, 30 hours in all.
    middle = clusterer.add(2, features(VOTE_EVENING, T0 + timedelta(hours=10)))
    last = clusterer.add(3, features(VOTE_NOON, T0 + timedelta(hours=20)))
    final = clusterer.add(4, features(VOTE_EVENING, T0 + timedelta(hours=30)))
    assert first == middle == last == final


def test_old_stories_close_and_leave_the_clusterer() -> None:
    clusterer = Clusterer(tuning=Tuning(window=timedelta(hours=12)))
    quake = clusterer.add(1, features(QUAKE_TASS, T0))
    clusterer.add(2, features(SPARTAK_WIN, T0 + timedelta(days=3)))
    assert quake not in clusterer.stories
    assert [s.key for s in clusterer.closed] == [quake]
    # A report of the same quake three days later starts a story of its own.
    assert clusterer.add(3, features(QUAKE_RIA, T0 + timedelta(days=3))) != quake


def test_restored_clusterer_continues_the_stored_stories() -> None:
    original = Clusterer()
    background = [features(a, T0) for a in BACKGROUND]
    for n, f in enumerate(background):
        original.add(100 + n, f)
    quake = original.add(1, features(QUAKE_TASS, T0))

    # At start: the store's counts, and the window's articles with their stories.
    restored = Clusterer(original.df)
    for story in original.stories.values():
        for member in story.members:
            f = background[member - 100] if member >= 100 else features(QUAKE_TASS, T0)
            restored.restore(story.key, member, f)
    assert restored.next_key == original.next_key
    ria = features(QUAKE_RIA, T0 + timedelta(minutes=30), source="РИА Новости")
    assert restored.add(2, ria) == quake
    assert restored.add(3, features(SPARTAK_LOSS, T0)) not in original.stories


def test_group_keeps_input_order_and_needs_no_time_order() -> None:
    batch = [
        features(QUAKE_RIA, T0 + timedelta(minutes=40), source="РИА Новости"),
        features(SPARTAK_WIN, T0),
        features(QUAKE_TASS, T0 + timedelta(minutes=5)),
        *(features(a, T0) for a in BACKGROUND),
    ]
    keys = group(batch)
    assert len(keys) == len(batch)
    assert keys[0] == keys[2] != keys[1]
    assert len(set(keys)) == len(batch) - 1


def test_document_frequencies_count_each_article_once() -> None:
    df = DocumentFrequencies()
    df.add(features(("Камчатка Камчатка", "Камчатка, снова Камчатка.")))
    df.add(features(QUAKE_TASS))
    assert df.documents == 2
    assert df.counts["камчатка"] == 2
