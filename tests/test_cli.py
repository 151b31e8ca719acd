from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_04ae095c1d503094.txt"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working folder: no .env of the developer's, a database in tmp."""
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "SUMMARY_ALGORITHM", "SUMMARY_SENTENCES", "WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "data" / "db.sqlite3"))
    monkeypatch.setenv("SEEDS_DIR", str(ROOT / "seeds"))
    return tmp_path


def stored(env: Path) -> int:
    path = env / "data" / "db.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])


def test_summarize_file_prints_verbatim_sentences(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summarize", str(SEED), "--sentences", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    body = [line for line in out[3:] if line]
    text = SEED.read_text(encoding="utf-8")
    assert len(body) == 2
    assert all(line in text for line in body)
    assert text.index(body[0]) < text.index(body[1])
    assert "_Russian.news.cn" not in out[0]
    assert stored(env) == 0, "summarising a file must not store it"


def test_points_by_id_after_seed_loading(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["points", "1"]) == 0
    out = capsys.readouterr().out
    numbered = [line for line in out.splitlines() if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert len(numbered) == 4
    assert "взаимодоверие" in numbered[0]
    assert "культурно-гуманитарные" in numbered[3]


def test_ingest_then_summarize_by_id(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = {
        "title": "Погода в Москве",
        "text": "В Москве выпал снег. Синоптики обещают мороз. Дороги посыпают реагентами. "
        "Метро работает в обычном режиме.",
    }
    path = env / "news.jsonl"
    path.write_text(json.dumps(article, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["ingest", str(path)]) == 0
    assert main(["ingest", str(path)]) == 0
    assert stored(env) == 1
    capsys.readouterr()
    assert main(["summarize", "1", "-n", "1"]) == 0
    out = capsys.readouterr().out
    assert "№1 Погода в Москве" in out


def write(env: Path, name: str, data: bytes) -> str:
    path = env / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("args_for", "fragment"),
    [
        (lambda env: ["summarize", str(env / "missing.txt")], "missing.txt"),
        (lambda env: ["summarize", "999"], "999"),
        (lambda env: ["summarize", str(SEED), "--algorithm", "gpt"], "gpt"),
        (lambda env: ["summarize", str(SEED), "--sentences", "0"], "предложений"),
        (lambda env: ["summarize", str(SEED), "--sentences", "два"], "предложений"),
        (lambda env: ["points", write(env, "empty.txt", b"")], "empty.txt"),
        (lambda env: ["points", write(env, "bin.txt", b"\x00\x01\x02title\n")], "bin.txt"),
        (
            lambda env: ["points", write(env, "cp.txt", "Заголовок\nТекст".encode("cp1251"))],
            "cp.txt",
        ),
        (lambda env: ["ingest", str(SEED), str(env / "nope")], "nope"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_nothing_stored(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args_for,  # type: ignore[no-untyped-def]
    fragment: str,
) -> None:
    # No seeds here: loading them at start is not what this test is about.
    (env / "no-seeds").mkdir()
    monkeypatch.setenv("SEEDS_DIR", str(env / "no-seeds"))
    before = stored(env)
    assert main(args_for(env)) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("ошибка: ")
    assert fragment in lines[0]
    assert "Traceback" not in captured.err
    assert stored(env) == before


def test_a_file_deep_in_long_folders_is_named_by_its_own_name(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (env / "no-seeds").mkdir()
    monkeypatch.setenv("SEEDS_DIR", str(env / "no-seeds"))
    deep = env.joinpath(*["очень-длинное-имя-папки"] * 6)
    deep.mkdir(parents=True)
    assert main(["summarize", str(deep / "статья-которой-нет.txt")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "статья-которой-нет.txt»" in line
    assert len(line) < 200


def test_run_without_token_names_env_example_and_console(env: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=env,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_PATH": str(env / "d.db")},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert ".env.example" in lines[0]
    assert "python -m bot console" in lines[0]


# Two events, each told by two outlets, and one told once.
STORY_LINES = [
    {
        "id": "q1",
        "source": "ТАСС",
        "date": "2026-05-02 10:00",
        "title": "Землетрясение магнитудой 6,1 произошло у берегов Камчатки",
        "text": "Землетрясение магнитудой 6,1 произошло у восточного побережья Камчатки. "
        "Угрозы цунами нет.",
    },
    {
        "id": "h1",
        "source": "ТАСС",
        "date": "2026-05-02 10:30",
        "title": "Сборная России по хоккею выиграла турнир в Сочи",
        "text": "Сборная России по хоккею выиграла международный турнир в Сочи, обыграв "
        "в финале Финляндию.",
    },
    {
        "source": "РИА Новости",
        "date": "2026-05-02 10:20",
        "title": "У берегов Камчатки произошло землетрясение магнитудой 6,1 - РИА Новости",
        "text": "Землетрясение магнитудой 6,1 зафиксировано у побережья Камчатки, сообщили "
        "сейсмологи. Угрозы цунами нет.",
    },
    {
        "id": "h2",
        "source": "РБК",
        "date": "2026-05-02 11:00",
        "title": "Хоккеисты сборной России выиграли турнир в Сочи",
        "text": "Сборная России по хоккею выиграла турнир в Сочи, в финале обыграв сборную "
        "Финляндии.",
    },
    {
        "id": "b1",
        "source": "Коммерсантъ",
        "date": "2026-05-02 11:30",
        "title": "Центробанк сохранил ключевую ставку",
        "text": "Банк России сохранил ключевую ставку на прежнем уровне, следует из "
        "сообщения регулятора.",
    },
]


def test_stories_of_a_file_as_json_lines_in_input_order(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env / "day.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in STORY_LINES))
    assert main(["stories", str(path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Each line's own id, else its line number (the third line has none).
    assert [line["id"] for line in lines] == ["q1", "h1", 3, "h2", "b1"]
    story = {line["id"]: line["story"] for line in lines}
    assert story["q1"] == story[3]
    assert story["h1"] == story["h2"]
    assert len({story["q1"], story["h1"], story["b1"]}) == 3
    assert stored(env) == 0 or not (env / "data" / "db.sqlite3").exists()


def test_stories_of_a_file_readable_biggest_first(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = env / "day.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in STORY_LINES))
    assert main(["stories", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    heads = [line for line in out if line.startswith("Сюжет ")]
    assert len(heads) == 3
    assert "2 источника" in heads[0] and "1 источник)" in heads[-1]
    assert "Центробанк сохранил ключевую ставку" in heads[-1]
    # The headline is without the site's name.
    assert not any("- РИА Новости" in head for head in heads)


def test_stories_of_the_store_after_ingest(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = env / "day.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in STORY_LINES))
    assert main(["ingest", str(path)]) == 0
    capsys.readouterr()
    assert main(["stories"]) == 0
    out = capsys.readouterr().out.splitlines()
    numbered = [line for line in out if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    # Each event once, with both its outlets (the earliest first); the one-outlet last.
    assert len(numbered) == 3
    assert "ТАСС, РИА Новости" in "".join(numbered[:2])
    assert "ТАСС, РБК" in "".join(numbered[:2])
    assert "Центробанк" in numbered[2]


def damage(path: Path) -> None:
    # A real store whose header is overwritten: SQLite no longer knows the file.
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    with path.open("r+b") as file:
        file.write(b"not a database, not any more")


@pytest.mark.parametrize(
    ("spoil", "fragment"),
    [
        (lambda path: path.write_bytes(b""), "пуст"),
        (damage, "повреждён"),
        (lambda path: (damage(path), path.chmod(0o444)), "только для чтения"),
        (lambda path: (path.write_bytes(b""), path.chmod(0o444)), "пуст"),
    ],
)
@pytest.mark.parametrize("command", [["run"], ["migrate"]])
def test_an_unusable_database_file_is_refused_at_start_in_one_line(
    env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spoil,  # type: ignore[no-untyped-def]
    fragment: str,
    command: list[str],
) -> None:
    path = env / "data" / "db.sqlite3"
    path.parent.mkdir()
    spoil(path)
    before = path.read_bytes()
    # With a token the run gets as far as opening the store; Telegram is never reached.
    monkeypatch.setenv("BOT_TOKEN", "123456:TEST-token")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:9")
    assert main(command) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert str(path) in lines[0] and fragment in lines[0]
    assert "python -m bot backup" in lines[0]
    assert "Traceback" not in captured.err
    # Left as it was: no empty store made in its place, nothing written to it.
    assert path.read_bytes() == before
    assert not path.with_name(path.name + "-wal").exists()
