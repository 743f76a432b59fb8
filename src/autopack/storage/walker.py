"""The scan's walk: one streaming pass over a tree, in memory that does not grow with the tree.

Open directory iterators are kept one per level (at most `max_depth`), candidates are handed over in
batches, and nothing else is remembered per entry. Symlinks are never followed (a link is an item
of its own size), other filesystems are not entered, and an entry that cannot be read or vanishes
mid-walk is counted as skipped instead of failing the scan.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from autopack.storage.policy import DAY_NS, TRASH_DIR, Policy, reason_for

CHECK_EVERY = 256  # entries between looks at the clock
BATCH = 1000  # candidates handed over at once


class Stopped(Exception):
    """The walk was told to stop (cancelled, lease lost, shutting down)."""


@dataclass
class Found:
    """A cleanup candidate as the walk found it."""

    path: str
    rel: str
    size_bytes: int
    mtime_ns: int
    is_folder: bool
    category: str
    reason: str
    age_days: int


@dataclass
class Walk:
    """A walk of `target` (a resolved directory) below `root` (where the trash lives)."""

    target: str
    root: str
    policy: Policy
    max_depth: int
    max_items: int
    now_ns: int = field(default_factory=time.time_ns)
    # Called with the walk now and then (and with a full batch): False stops the walk.
    checkpoint: Callable[[Walk], bool] | None = None
    checkpoint_seconds: float = 1.0
    items: int = 0
    size: int = 0
    skipped: int = 0
    candidates: int = 0
    savings: int = 0
    truncated: bool = False
    pending: list[Found] = field(default_factory=list)

    def run(self) -> Walk:
        """Walk the whole tree (or up to the limits); raises Stopped when a checkpoint says so."""
        self._trash = os.path.join(self.root, TRASH_DIR)
        self._dev = os.stat(self.target).st_dev
        self._next_check = CHECK_EVERY
        self._last = time.monotonic()
        stack = [(os.scandir(self.target), "", 1)]
        try:
            while stack:
                iterator, prefix, depth = stack[-1]
                try:
                    entry = next(iterator, None)
                except OSError:
                    entry = None
                    self.skipped += 1
                if entry is None:
                    iterator.close()
                    stack.pop()
                    continue
                if self.items >= self.max_items:
                    self.truncated = True
                    break
                child = self._visit(entry, prefix, depth)
                if child is not None:
                    stack.append(child)
        finally:
            for iterator, _, _ in stack:
                iterator.close()
        return self

    def _tick(self) -> None:
        self.items += 1
        if self.items >= self._next_check:
            self._next_check = self.items + CHECK_EVERY
            now = time.monotonic()
            if self.checkpoint is not None and (now - self._last >= self.checkpoint_seconds
                                                or len(self.pending) >= BATCH):
                self._last = now
                if not self.checkpoint(self):
                    raise Stopped()

    def _visit(self, entry: os.DirEntry, prefix: str, depth: int):
        """Count one entry; a directory to descend into comes back as a new stack frame."""
        self._tick()
        name = entry.name
        try:
            if entry.is_dir(follow_symlinks=False):
                rel = prefix + name
                if entry.path == self._trash:
                    self.items -= 1  # our own trash is not part of the tree
                    return None
                found = self.policy.dir_category(rel, name) if depth <= self.max_depth else None
                if found is not None:
                    self._folder_candidate(entry, rel, *found)
                    return None
                if depth >= self.max_depth:
                    return None
                if entry.stat(follow_symlinks=False).st_dev != self._dev:
                    return None  # another filesystem mounted inside the tree
                return (os.scandir(entry.path), rel + "/", depth + 1)
            st = entry.stat(follow_symlinks=False)
            self.size += st.st_size
            if depth <= self.max_depth and entry.is_file(follow_symlinks=False):
                rel = prefix + name
                found = self.policy.file_category(rel, name)
                if found is not None:
                    self._offer(entry.path, rel, st.st_size, st.st_mtime_ns, False, *found)
        except OSError:  # unreadable, or gone since the directory was listed
            self.skipped += 1
        return None

    def _folder_candidate(self, entry: os.DirEntry, rel: str, category: str, rule) -> None:
        size, newest, complete = self.measure(entry.path)
        self.size += size
        if complete:
            self._offer(entry.path, rel, size, newest, True, category, rule)

    def measure(self, path: str) -> tuple[int, int, bool]:
        """Bytes and newest mtime (ns) of a folder's whole subtree; False when the item limit cut it short."""
        newest = os.stat(path, follow_symlinks=False).st_mtime_ns
        size, pending = 0, [path]
        while pending:
            try:
                with os.scandir(pending.pop()) as iterator:
                    for entry in iterator:
                        if self.items >= self.max_items:
                            self.truncated = True
                            return size, newest, False
                        self._tick()
                        try:
                            st = entry.stat(follow_symlinks=False)
                        except OSError:
                            self.skipped += 1
                            continue
                        newest = max(newest, st.st_mtime_ns)
                        if entry.is_dir(follow_symlinks=False):
                            if st.st_dev == self._dev:
                                pending.append(entry.path)
                        else:
                            size += st.st_size
            except OSError:
                self.skipped += 1
        return size, newest, True

    def _offer(self, path: str, rel: str, size: int, mtime_ns: int, folder: bool, category: str, rule) -> None:
        if category not in self.policy.retention and rule is None:
            return  # archive_buckets and unknown categories are never deleted
        age = max(0, (self.now_ns - mtime_ns) // DAY_NS)
        if age < self.policy.retention.get(category, 0) or self.policy.protected(rel):
            return
        self.pending.append(Found(path, rel, size, mtime_ns, folder, category,
                                  reason_for(category, rel, age, size, rule), age))
        self.candidates += 1
        self.savings += size


def fingerprint(path: str, is_folder: bool) -> tuple[int, int]:
    """(bytes, newest mtime ns) of a path now, measured like the scan did; OSError when it is gone."""
    if not is_folder:
        st = os.stat(path, follow_symlinks=False)
        return st.st_size, st.st_mtime_ns
    probe = Walk(target=path, root=path, policy=Policy(), max_depth=0, max_items=2**62)
    probe._dev = os.stat(path, follow_symlinks=False).st_dev
    probe._next_check = 2**62
    size, newest, _ = probe.measure(path)
    return size, newest
