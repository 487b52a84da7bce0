"""`newsworker ingest` and `articles`: the command-line contract of DESIGN.md, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import redis

from tests.documents import SEED
from tests.support import Cli, process_running


def test_seed_created_then_unchanged_and_get_matches_redis(cli: Cli, rclient: redis.Redis) -> None:
    code, lines = cli.json_lines("ingest", str(SEED), "--json")
    assert code == 0
    assert len(lines) == 1
    first = lines[0]
    assert first["outcome"] == "created"
    assert first["path"] == str(SEED)
    assert first["error"] is None
    article_id = first["id"]

    code, lines = cli.json_lines("ingest", str(SEED), "--json")
    assert code == 0
    assert lines == [{"path": str(SEED), "outcome": "unchanged", "id": article_id, "error": None}]

    done = cli.run("articles", "get", article_id, "--json")
    assert done.returncode == 0
    raw = rclient.get(f"{cli.env['NEWSWORKER_KEY_PREFIX']}article:{article_id}")
    assert done.stdout == raw + "\n"
    record = json.loads(done.stdout)
    assert record["title"] == "Donbas Separatists Ask Russia to Help ‘Repel’ Ukrainian Army"
    assert record["version"] == 1
    assert record["source"]["kind"] == "file"


def test_batch_stores_good_files_and_reports_bad_ones(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("A good title\n\nA body paragraph that is long enough to keep.\n")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    missing = tmp_path / "missing.txt"

    code, lines = cli.json_lines(
        "ingest", str(good), str(empty), str(binary), str(missing), "--json"
    )
    assert code == 1
    by_path = {line["path"]: line for line in lines}
    assert by_path[str(good)]["outcome"] == "created"
    for bad in (empty, binary, missing):
        line = by_path[str(bad)]
        assert line["outcome"] == "failed"
        assert line["id"] is None
        assert line["error"]
    assert "empty" in by_path[str(empty)]["error"]
    assert "binary" in by_path[str(binary)]["error"]
    assert "no such file" in by_path[str(missing)]["error"]

    listed = cli.run("articles", "list", "--json")
    assert [json.loads(x)["title"] for x in listed.stdout.splitlines()] == ["A good title"]


def test_file_over_the_cap_is_refused(cli: Cli, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("Title\n\n" + "word " * 5000)
    env = dict(cli.env, NEWSWORKER_MAX_FILE_BYTES="1000")
    code, lines = Cli(env, cli.cwd).json_lines("ingest", str(big), "--json")
    assert code == 1
    assert lines[0]["outcome"] == "failed"
    assert "limit" in lines[0]["error"]


def test_folder_glob_and_stdin(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "one.txt").write_text("First title\n\nFirst body paragraph here.\n")
    (folder / "sub" / "two.txt").write_text("Second title\n\nSecond body paragraph here.\n")
    (folder / ".hidden").write_text("not an article")

    code, lines = cli.json_lines("ingest", str(folder), "--json")
    assert code == 0
    assert sorted(line["path"] for line in lines) == [
        str(folder / "one.txt"),
        str(folder / "sub" / "two.txt"),
    ]

    code, lines = cli.json_lines("ingest", str(folder / "**" / "*.txt"), "--json")
    assert code == 0
    assert {line["outcome"] for line in lines} == {"unchanged"}
    assert len(lines) == 2

    code, lines = cli.json_lines("ingest", "-", "--json", input=SEED.read_bytes())
    assert code == 0
    assert lines[0]["path"] == "-"
    assert lines[0]["outcome"] == "created"

    code, lines = cli.json_lines("ingest", str(tmp_path / "nothing-*.txt"), "--json")
    assert code == 1
    assert "no files match" in lines[0]["error"]


def test_json_mode_prints_only_json_on_stdout(cli: Cli, tmp_path: Path) -> None:
    done = cli.run("ingest", str(SEED), str(tmp_path / "missing.txt"), "--json", "--verbose")
    for line in done.stdout.splitlines():
        json.loads(line)
    assert "Traceback" not in done.stderr


def test_usage_error_exits_2(cli: Cli) -> None:
    assert cli.run("ingest").returncode == 2
    assert cli.run("articles", "get").returncode == 2


def test_unknown_article_is_a_clear_error(cli: Cli) -> None:
    done = cli.run("articles", "get", "nope", "--json")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "no article with id nope" in done.stderr


def test_unreachable_redis_is_reported_not_a_traceback(cli: Cli) -> None:
    env = dict(cli.env, NEWSWORKER_REDIS_URL="redis://127.0.0.1:1/0")
    done = Cli(env, cli.cwd).run("ingest", str(SEED), "--json", timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr


def test_embedded_redis_when_none_is_configured(cli: Cli, tmp_path: Path) -> None:
    """No Redis URL: commands use a persistent Redis under ./var/ and stop it after."""
    env = {
        k: v for k, v in cli.env.items() if k not in ("NEWSWORKER_REDIS_URL", "NEWSWORKER_DATA_DIR")
    }
    home = tmp_path / "home"
    home.mkdir()
    local = Cli(env, home)
    code, lines = local.json_lines("ingest", str(SEED), "--json")
    assert code == 0, lines
    assert lines[0]["outcome"] == "created"
    assert (home / "var" / "redis").is_dir()
    pid_file = home / "var" / "redis" / "redis.pid"
    assert not pid_file.exists() or not process_running(int(pid_file.read_text()))

    # The data survived the stop: the second run finds the record again.
    code, lines = local.json_lines("ingest", str(SEED), "--json")
    assert lines[0]["outcome"] == "unchanged"


def test_articles_get_by_url_or_content_hash(cli: Cli, tmp_path: Path) -> None:
    """The URL and content-hash indexes answer `articles get`; an unknown URL does not."""
    page = tmp_path / "page.md"
    page.write_text("---\ntitle: Indexed\nurl: HTTPS://News.Example/a?utm_source=x\n---\n\nBody.\n")
    code, [line] = cli.json_lines("ingest", str(page), "--json")
    assert code == 0
    by_id = cli.run("articles", "get", line["id"], "--json").stdout
    record = json.loads(by_id)
    assert record["url"] == "https://news.example/a"
    for ref in ("https://news.example/a", "HTTPS://News.Example/a?utm_source=x",
                record["content_hash"]):  # fmt: skip
        assert cli.run("articles", "get", ref, "--json").stdout == by_id
    missing = cli.run("articles", "get", "https://news.example/b", "--json")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "no article with id https://news.example/b" in missing.stderr
