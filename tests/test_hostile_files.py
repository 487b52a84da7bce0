"""Input files that are not what they claim (empty, binary, NUL bytes, broken UTF-8,
special files) and paths that escape the allowed input root (symlinks, `..`, loops):
each is refused with a clear BadInput or FetchError, and no secret leaks."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.documents import MB, SECRET, ingest
from worker.errors import BadInput, FetchError
from worker.inputs.files import InputRef, expand, read_input
from worker.settings import get_settings

# --- files: what they hold ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "error", "fragment"),
    [
        (b"", BadInput, "empty"),
        (b"\x7fELF\x02\x01\x01" + bytes(200), BadInput, "ELF"),
        (random.Random(7).randbytes(4096), BadInput, "binary|undecodable"),
        (b"Title\n\nBody \x00 with a NUL.\n", BadInput, "NUL"),
        (b"Title\n\n" + b"\xff\xfe\xfd\x81\x8d" * 50, BadInput, "undecodable|binary"),
        (b"Title\n\nBody\n" * 1000 + b"x", BadInput, "over the"),
    ],
    ids=["empty", "elf", "random", "nul", "invalid-utf8", "over-cap"],
)
def test_file_contents(
    tmp_path: Path, no_root: None, content: bytes, error: type[Exception], fragment: str
) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    with pytest.raises(error, match=fragment):
        item = read_input(InputRef(str(path), path), max_bytes=12_000)
        ingest(item.data, "article.txt")


def test_some_invalid_utf8_is_read_with_replacements(tmp_path: Path, no_root: None) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(b"Caf\xc3\xa9 title\n\nBody with one broken byte \xff here, na\xc3\xafve.\n")
    item = read_input(InputRef(str(path), path), max_bytes=MB)
    [article] = ingest(item.data, "article.txt")
    assert article.title == "Café title"


@pytest.mark.parametrize("special", ["fifo", "device", "folder"])
def test_special_files_are_not_read(tmp_path: Path, no_root: None, special: str) -> None:
    if special == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    else:
        path = Path("/dev/zero") if special == "device" else tmp_path
    with pytest.raises(BadInput, match="not a regular file"):
        read_input(InputRef(str(path), path), max_bytes=MB)


# --- files: where they are ---------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path, secret_file: Path) -> Path:
    """root/inside.txt, root/sub/, root/link-out -> the secret, root/link-in -> inside.txt."""
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "inside.txt").write_text("Inside\n\nAn article inside the root.\n")
    (root / "link-out").symlink_to(secret_file)
    (root / "link-in").symlink_to(root / "inside.txt")
    (root / "sub" / "dir-out").symlink_to(secret_file.parent, target_is_directory=True)
    return root


def read_path(arg: str, root: Path | None = None) -> bytes:
    [ref] = expand([arg])
    return read_input(ref, max_bytes=MB, root=root).data


@pytest.mark.parametrize(
    "relative",
    ["link-out", "sub/../../secret.txt", "sub/dir-out/secret.txt", "../secret.txt",
     "sub/../../missing.txt"],
    ids=["symlink-out", "dotdot", "symlinked-folder", "parent", "missing-outside"],
)  # fmt: skip
def test_paths_outside_the_root_are_refused(tree: Path, no_root: None, relative: str) -> None:
    with pytest.raises(BadInput, match="outside the allowed input root") as caught:
        read_path(str(tree / relative), root=tree)
    assert SECRET not in str(caught.value)


def test_paths_inside_the_root_are_read(tree: Path, no_root: None) -> None:
    for relative in ("inside.txt", "link-in", "sub/../inside.txt"):
        assert read_path(str(tree / relative), root=tree).startswith(b"Inside")


def test_a_folder_walk_refuses_links_out(tree: Path, no_root: None) -> None:
    outcomes = {}
    for ref in expand([str(tree)]):
        try:
            outcomes[Path(ref.display).name] = read_input(ref, max_bytes=MB, root=tree).data[:6]
        except BadInput as exc:
            outcomes[Path(ref.display).name] = str(exc)
    assert outcomes["inside.txt"] == outcomes["link-in"] == b"Inside"
    assert "outside the allowed input root" in str(outcomes["link-out"])


def test_root_comes_from_the_environment(
    tree: Path, monkeypatch: pytest.MonkeyPatch, no_root: None
) -> None:
    assert read_path(str(tree / "link-out")) == SECRET.encode()  # unset: no restriction
    monkeypatch.setenv("NEWSWORKER_INPUT_ROOT", str(tree))
    get_settings.cache_clear()
    assert get_settings().input_root == tree
    with pytest.raises(BadInput, match="outside the allowed input root"):
        read_path(str(tree / "link-out"))
    assert read_path(str(tree / "inside.txt")).startswith(b"Inside")


def test_symlink_loop_is_a_clear_error(tmp_path: Path, no_root: None) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(FetchError, match="cannot read"):
        read_path(str(tmp_path / "a"))
