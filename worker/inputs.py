"""Turning command-line arguments into inputs: files, folders, globs and standard input."""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from worker.errors import BadInput, FetchError
from worker.ingest import InputFile

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


def read_input(ref: InputRef, *, max_bytes: int, stdin: BinaryIO | None = None) -> InputFile:
    """The bytes of one input, refusing anything over `max_bytes`.

    Raises FetchError when the file cannot be read, BadInput when it is too large
    or is not a regular file.
    """
    if ref.problem:
        raise FetchError(ref.problem)
    if ref.path is None:
        stream = stdin if stdin is not None else sys.stdin.buffer
        return InputFile(STDIN, _read_capped(stream, max_bytes, STDIN), None)
    path = ref.path
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise FetchError(f"cannot read {ref.display}: {_reason(exc)}") from exc
    if not resolved.is_file():
        raise BadInput(f"{ref.display} is not a regular file")
    try:
        size = resolved.stat().st_size
        if size > max_bytes:
            raise BadInput(f"{ref.display} is {size} bytes, over the {max_bytes}-byte limit")
        with resolved.open("rb") as handle:
            data = _read_capped(handle, max_bytes, ref.display)
    except OSError as exc:
        raise FetchError(f"cannot read {ref.display}: {_reason(exc)}") from exc
    return InputFile(ref.display, data, str(resolved))


def _read_capped(stream: BinaryIO, max_bytes: int, display: str) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"{display} is over the {max_bytes}-byte limit")
    return data


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)
