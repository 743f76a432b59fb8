"""`autopack backup` / `autopack restore`: the database and the data directory's keys in one archive.

The archive (tar, gzip) holds `manifest.json`, the database (`database/autopack.db` from SQLite's
online backup API, or `database/postgresql.dump` from pg_dump) and the data directory's keys:
`data/secret.key` (seals the ledger's heads), `data/jwt_keys/*` (signs tokens) and
`data/audit-anchor.json`. The anchor is read before the database is copied, so it only holds heads
the copy has too and the restored ledger verifies against it. The runs directory is files and is
not in the archive.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autopack.audit.anchor_file import ANCHOR_FILE
from autopack.auth.keys import KEY_FOLDER
from autopack.core.fs import open_under, read_at
from autopack.core.migrate import current_revisions
from autopack.core.secrets import SECRET_FILE
from autopack.core.settings import get_settings
from autopack.ops import dump
from autopack.ops.dump import BackupError

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/autopack.db"
POSTGRES_MEMBER = "database/postgresql.dump"
# Every name an archive may hold: nothing else is ever extracted (no traversal, no links).
_MEMBER = re.compile(r"(manifest\.json|database/(autopack\.db|postgresql\.dump)"
                     r"|data/(secret\.key|audit-anchor\.json|jwt_keys/[A-Za-z0-9_.-]{1,128}))")


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did, for the command to print."""

    database: str
    revisions: list[str]
    files: list[str]


def _data_files() -> dict[str, bytes]:
    """The data directory's keys and anchor (anchor first: it must not be newer than the database copy)."""
    files: dict[str, bytes] = {}
    data_dir = get_settings().data_dir.resolve()
    if not data_dir.is_dir():
        return files
    with open_under(data_dir, create=False) as root:
        for name in (ANCHOR_FILE, SECRET_FILE):
            content = read_at(root, name)
            if content is not None:
                files[f"data/{name}"] = content
        folder = data_dir / KEY_FOLDER
        if folder.is_dir():
            with open_under(folder, create=False) as keys:
                for name in sorted(os.listdir(keys)):
                    if name.startswith("."):
                        continue  # the lock file
                    content = read_at(keys, name)
                    if content is not None:
                        files[f"data/{KEY_FOLDER}/{name}"] = content
    return files


def _add(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), 0o600
    archive.addfile(info, io.BytesIO(content))


def backup(target: Path) -> Outcome:
    """Write an archive of this installation to `target` (which must not exist yet)."""
    from autopack.core.database import get_engine

    target = target.resolve()
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name")
    url = get_settings().sqlalchemy_url
    kind = dump.backend(url)
    files = _data_files()  # before the database: see the module docstring
    with tempfile.TemporaryDirectory(prefix=".autopack-backup-", dir=target.parent) as scratch:
        db_file = Path(scratch) / "database"
        if kind == "sqlite":
            dump.snapshot_sqlite(url, db_file)
        else:
            dump.dump_postgresql(url, db_file)
        revisions = sorted(current_revisions(get_engine()))
        manifest = {"format": FORMAT, "database": kind, "revisions": revisions, "files": sorted(files)}
        partial = Path(scratch) / "archive"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds the server's keys
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            _add(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            archive.add(db_file, SQLITE_MEMBER if kind == "sqlite" else POSTGRES_MEMBER, recursive=False)
            for name, content in files.items():
                _add(archive, name, content)
            raw.flush()
            os.fsync(raw.fileno())
        os.link(partial, target)  # fails rather than replace a file created meanwhile
    return Outcome(kind, revisions, sorted(files))


def _read_members(source: Path) -> dict[str, bytes | Path]:
    """The archive's members by name; the database member is left in the archive (read on demand)."""
    members: dict[str, bytes | Path] = {}
    with tarfile.open(source, mode="r:*") as archive:
        for info in archive.getmembers():
            if not info.isfile() or not _MEMBER.fullmatch(info.name):
                raise BackupError(f"unexpected entry {info.name[:100]!r} in {source}: not an autopack backup")
            if info.name.startswith("database/"):
                members[info.name] = source
                continue
            handle = archive.extractfile(info)
            members[info.name] = handle.read() if handle is not None else b""
    if MANIFEST not in members:
        raise BackupError(f"{source} has no manifest: not an autopack backup")
    return members


def _extract_database(source: Path, member: str, target: Path) -> None:
    with tarfile.open(source, mode="r:*") as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise BackupError(f"{member} missing from {source}")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := handle.read(1 << 20):
                out.write(chunk)


def _empty_dir(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _write_data_files(data_dir: Path, members: dict[str, bytes | Path]) -> list[str]:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for name, content in sorted(members.items()):
        if not name.startswith("data/"):
            continue
        relative = name[len("data/"):]
        path = data_dir / relative
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(content)  # type: ignore[arg-type]
        written.append(name)
    return written


def restore(source: Path) -> Outcome:
    """Restore an archive into an empty data directory (and an empty PostgreSQL database)."""
    settings = get_settings()
    data_dir = settings.data_dir.resolve()
    if not _empty_dir(data_dir):
        raise BackupError(f"the data directory {data_dir} is not empty; restore only into an empty one")
    members = _read_members(source)
    manifest = json.loads(members[MANIFEST])  # type: ignore[arg-type]
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    url = settings.sqlalchemy_url
    kind = dump.backend(url)
    if manifest.get("database") != kind:
        raise BackupError(f"the backup is of a {manifest.get('database')} database; DATABASE_URL is {kind}")
    if kind == "sqlite":
        db_path = dump.sqlite_path(url)
        if db_path.exists():
            raise BackupError(f"{db_path} exists already; restore only into an empty place")
        db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = db_path.with_name(f".{db_path.name}.restoring")
        partial.unlink(missing_ok=True)
        _extract_database(source, SQLITE_MEMBER, partial)
        import sqlite3

        with sqlite3.connect(partial) as conn:
            dump.check_sqlite(conn)
        os.link(partial, db_path)
        partial.unlink()
    else:
        if dump.tables_in(url):
            raise BackupError("the PostgreSQL database of DATABASE_URL is not empty; create a new one")
        with tempfile.TemporaryDirectory(prefix="autopack-restore-") as scratch:
            dump_file = Path(scratch) / "postgresql.dump"
            _extract_database(source, POSTGRES_MEMBER, dump_file)
            dump.restore_postgresql(url, dump_file)
    files = _write_data_files(data_dir, members)
    return Outcome(kind, list(manifest.get("revisions", [])), files)
