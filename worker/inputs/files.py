"""Turning command-line arguments into inputs: files, folders, globs and standard input."""

from __future__ import annotations

import glob
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from worker.errors import BadInput, FetchError
from worker.model import InputFile
from worker.settings import get_settings

STDIN = "-"
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputRef:
    """Something to read: a path as the user named it (or '-' for standard input)."""

    display: str
    path: Path | None  # None for standard input
    problem: str | None = None  # set when the argument names nothing readable


def expand(args: Sequence[str]) -> list[InputRef]:
    """Each argument to the inputs it names; folders are walked, globs matched.

    An argument that names nothing yields one InputRef with `problem` set, so the
    caller reports it alongside the good inputs instead of stopping.
    """
    refs: list[InputRef] = []
    for arg in args:
        refs.extend(_expand_one(arg))
    return refs


def _expand_one(arg: str) -> Iterator[InputRef]:
    if arg == STDIN:
        yield InputRef(STDIN, None)
        return
    path = Path(arg).expanduser()
    if path.is_dir():
        found = False
        for file in _walk(path):
            found = True
            yield InputRef(str(file), file)
        if not found:
            yield InputRef(arg, path, problem=f"folder {arg} holds no files")
        return
    if path.exists() or path.is_symlink():
        yield InputRef(arg, path)
        return
    if _GLOB_CHARS & set(arg):
        matches = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            yield InputRef(arg, None, problem=f"no files match {arg}")
        for file in files:
            yield InputRef(str(file), file)
        return
    yield InputRef(arg, path, problem=f"no such file: {arg}")


def _walk(folder: Path) -> Iterator[Path]:
    # Hidden files and folders (.git, .DS_Store) are never articles.
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def read_input(
    ref: InputRef, *, max_bytes: int, stdin: BinaryIO | None = None, root: Path | None = None
) -> InputFile:
    """The bytes of one input, refusing anything over `max_bytes`.

    `root` confines paths: one that resolves (symlinks followed) outside it is
    refused. None means the configured NEWSWORKER_INPUT_ROOT, which when unset
    allows any path. Raises FetchError when the file cannot be read, BadInput
    when it is too large, not a regular file, or outside the root.
    """
    root = root or get_settings().input_root
    if ref.path is not None and root is not None:  # first: refused paths tell nothing more
        _check_root(_loose_resolve(ref.path, ref.display), root, ref.display)
    if ref.problem:
        raise FetchError(ref.problem)
    if ref.path is None:
        stream = stdin if stdin is not None else sys.stdin.buffer
        return InputFile(STDIN, _read_capped(stream, max_bytes, STDIN), None)
    resolved = _resolve(ref.path, ref.display, root)
    try:
        data = _read_file(resolved, max_bytes, ref.display)
    except OSError as exc:
        raise FetchError(f"cannot read {ref.display}: {_reason(exc)}") from exc
    return InputFile(ref.display, data, str(resolved))


def _loose_resolve(path: Path, display: str) -> Path:
    """`path` with symlinks and `..` resolved as far as they exist."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise FetchError(f"cannot read {display}: {_reason(exc)}") from exc


def _resolve(path: Path, display: str, root: Path | None) -> Path:
    """The real path of an existing `path`, inside `root` when one is given."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise FetchError(f"cannot read {display}: {_reason(exc)}") from exc
    _check_root(resolved, root, display)  # again: a link may have changed since
    return resolved


def _check_root(resolved: Path, root: Path | None, display: str) -> None:
    if root is None:
        return
    real_root = root.expanduser().resolve()
    if not resolved.is_relative_to(real_root):
        raise BadInput(
            f"{display}: refused: it is outside the allowed input root {real_root}"
            " (NEWSWORKER_INPUT_ROOT), once symlinks and '..' are followed"
        )


def _read_file(resolved: Path, max_bytes: int, display: str) -> bytes:
    # O_NOFOLLOW: the path was just resolved, so a symlink here was swapped in since.
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    if not resolved.is_file():
        raise BadInput(f"{display} is not a regular file")
    with open(os.open(resolved, flags), "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{display} is not a regular file")
        if info.st_size > max_bytes:
            raise BadInput(f"{display} is {info.st_size} bytes, over the {max_bytes}-byte limit")
        return _read_capped(handle, max_bytes, display)


def _read_capped(stream: BinaryIO, max_bytes: int, display: str) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"{display} is over the {max_bytes}-byte limit")
    return data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)
