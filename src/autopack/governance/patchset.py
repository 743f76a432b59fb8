"""Parse a unified diff with unidiff and list every path it can touch, before git sees it."""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from autopack.governance.paths import unsafe_reason
from autopack.governance.repair import repair_hunks

MAX_FILES = 1000
_DEV_NULL = "/dev/null"
# Symlinks could point anywhere and submodules are whole repositories: neither is a file edit.
_FORBIDDEN_MODE = re.compile(r"^(?:new file mode|deleted file mode|new mode|old mode|index \S+) 1[26]0000\b",
                             re.MULTILINE)
_HEADER_PATH = re.compile(r"^(?:rename|copy) (?:from|to) (.+)$", re.MULTILINE)


class PatchError(Exception):
    """The patch was refused or could not be applied; `reason` says why (nothing was changed)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PatchPlan:
    """A parsed patch: its text and every workspace-relative path it may read, write or delete."""

    text: str
    touched: tuple[str, ...]
    binary: bool
    repaired: str | None = None  # the LLM-output repair of the text, when it differs (tried last)

    @property
    def sha256(self) -> str:
        """SHA-256 of the patch text as received."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def has_crlf(self) -> bool:
        """True when the patch carries CRLF line ends (a line-ending-normalised retry may help)."""
        return "\r\n" in self.text

    def lf_text(self) -> str:
        """The patch with CRLF line ends turned into LF."""
        return self.text.replace("\r\n", "\n")


def _unquote(name: str) -> str:
    """Git quotes unusual names C-style ("a/f\\303\\251.txt"); decode them as git does."""
    if len(name) >= 2 and name[0] == name[-1] == '"':
        try:
            return codecs.escape_decode(name[1:-1].encode("utf-8"))[0].decode("utf-8")
        except ValueError:
            raise PatchError(f"malformed quoted path: {name[:200]}") from None
    return name


def _strip_prefix(raw: str) -> str | None:
    """The workspace path git derives from a ---/+++ name (-p1); None for /dev/null."""
    name = _unquote(raw.strip())
    if name == _DEV_NULL:
        return None
    if name.startswith("/"):
        raise PatchError(f"absolute path not allowed: {name}")
    return name.split("/", 1)[1] if "/" in name else name


def parse_patch(text: str, max_bytes: int) -> PatchPlan:
    """Validate the diff's shape and paths; raises PatchError (malformed, unsafe, binary without data)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise PatchError("patch is not valid UTF-8 text (unpaired surrogates)") from None
    if size > max_bytes:
        raise PatchError(f"patch is {size} bytes, over the {max_bytes}-byte limit")
    if "\x00" in text:
        raise PatchError("patch contains NUL bytes (binary data must use git's base85 encoding)")
    if not text.endswith("\n"):
        text += "\n"  # git rejects a last line without its newline as a corrupt patch
    lf = text.replace("\r\n", "\n")  # git drops CR from header names, so parse names from LF text
    repaired = repair_hunks(lf)
    try:
        touched, binary = _touched(lf)
        if repaired != lf:
            try:
                more, more_binary = _touched(repaired)
            except PatchError:
                repaired = lf  # the repair made it worse: offer only the patch as sent
            else:
                touched, binary = touched | more, binary or more_binary
    except PatchError:
        if repaired == lf:
            raise
        touched, binary = _touched(repaired)  # unparseable as sent: the repaired text or nothing
    for path in sorted(touched):
        reason = unsafe_reason(path)
        if reason:
            raise PatchError(reason)
    return PatchPlan(text=text, touched=tuple(sorted(touched)), binary=binary,
                     repaired=repaired if repaired != lf else None)


def _touched(lf: str) -> tuple[set[str], bool]:
    """Every path a (LF) diff names, and whether it carries binary data; PatchError when malformed."""
    try:
        files = PatchSet(lf)
    except (UnidiffParseError, ValueError, IndexError) as exc:
        raise PatchError(f"malformed diff: {exc}") from None
    if not files:
        raise PatchError("malformed diff: no file changes found")
    if len(files) > MAX_FILES:
        raise PatchError(f"patch touches {len(files)} files, over the limit of {MAX_FILES}")
    if _FORBIDDEN_MODE.search(lf):
        raise PatchError("symlinks and submodules cannot be applied (mode 120000/160000)")
    if any(line.startswith("Binary files ") and line.endswith(" differ") for line in lf.split("\n")):
        raise PatchError("binary patch without data (create it with `git diff --binary`)")
    touched: set[str] = set()
    binary = False
    for patched in files:
        source, target = _strip_prefix(patched.source_file), _strip_prefix(patched.target_file)
        touched.update(p for p in (source, target) if p)
        binary = binary or patched.is_binary_file
        touched.update(_unquote(m.strip()) for m in _HEADER_PATH.findall(str(patched.patch_info or "")))
    if binary and "GIT binary patch" not in lf:
        raise PatchError("binary patch without data (create it with `git diff --binary`)")
    return touched, binary

