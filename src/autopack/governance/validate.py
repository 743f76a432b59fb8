"""After-apply checks (the reference's corruption checks): conflict markers and broken Python.

Each touched file is examined before and after the apply; the patch is refused (and the workspace
restored) only for damage it brought: conflict markers that were not there, or a Python file that
compiled before (or is new) and no longer does. A file that did not compile before (say, written
for a newer Python than the server's) is not held against the patch.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

_MARKER = re.compile(rb"^(?:<{7}|>{7})(?: |\r?$)|^={7}\r?$", re.MULTILINE)


@dataclass(frozen=True)
class FileHealth:
    """What the checks saw in one file."""

    markers: int
    python_error: str | None  # None: compiles, or not a Python file
    is_python: bool


def _python_error(data: bytes, name: str) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes and the like are warnings, not damage
        try:
            compile(data, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"line {exc.lineno}: {exc.msg}"
        except (ValueError, RecursionError, MemoryError) as exc:
            return type(exc).__name__
    return None


def examine(path: Path, check_python: bool) -> FileHealth | None:
    """The health of `path`, or None when it is not a regular file."""
    if path.is_symlink() or not path.is_file():
        return None
    data = path.read_bytes()
    is_python = check_python and path.suffix == ".py"
    return FileHealth(markers=len(_MARKER.findall(data)),
                      python_error=_python_error(data, path.name) if is_python else None,
                      is_python=is_python)


def snapshot(root: Path, paths: tuple[str, ...], check_python: bool) -> dict[str, FileHealth | None]:
    """Every touched file's health before the apply."""
    return {rel: examine(root / rel, check_python) for rel in paths}


def damage(root: Path, before: dict[str, FileHealth | None], check_python: bool) -> str | None:
    """Why the applied patch must be undone, or None."""
    for rel, prev in before.items():
        after = examine(root / rel, check_python)
        if after is None:
            continue
        if after.markers > (prev.markers if prev else 0):
            return f"{rel}: the patch leaves merge conflict markers"
        if after.python_error and (prev is None or not prev.is_python or prev.python_error is None):
            return f"{rel}: the patched file is not valid Python ({after.python_error})"
    return None
