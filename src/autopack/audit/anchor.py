"""The anchor against the database: compare the ledger with it, and move it forward after appends.

A seal proves a head was written by whoever holds the server secret, but an older sealed state
(a restored backup, an emptied ledger) is still sealed. The anchor outside the database remembers
how far every chain has reached: verification fails when the ledger no longer holds the anchored
hash at the anchored seq (`anchor_mismatch`). An anchor behind the database is fine; it never moves
back, and never past a head that does not continue it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from autopack.audit.anchor_file import (
    Anchor,
    AnchorInvalid,
    Chains,
    anchor_lock,
    anchor_path,
    read_anchor,
    seal_anchor,
    write_anchor,
)
from autopack.audit.chain import GLOBAL_CHAIN, seal_matches, tenant_chain
from autopack.audit.schemas import AnchorReport, ChainBreak
from autopack.audit.verify import read_heads
from autopack.core import mirror
from autopack.core.database import AFTER_COMMIT_KEY, on_commit, session_scope
from autopack.core.logging import get_logger
from autopack.db.models.audit import AuditEvent

log = get_logger(__name__)
_TENANT_PREFIX = "tenant:"
_BATCH = 500


@dataclass(frozen=True)
class LoadedAnchor:
    """An anchor read for verification: the anchor, or why it cannot be trusted (neither: none yet)."""

    source: Literal["data_dir", "file"]
    anchor: Anchor | None = None
    problem: str | None = None


@dataclass
class RefreshResult:
    """What a refresh left in the anchor file, and the chains it could not move (their anchor mismatches)."""

    anchor: Anchor | None
    problem: str | None = None
    breaks: list[ChainBreak] = field(default_factory=list)


def load_anchor(anchor_file: Path | None = None, *, check_seal: bool = True) -> LoadedAnchor:
    """The stored anchor (or the operator's copy at `anchor_file`), read before the ledger is.

    Read first, so it can only hold heads that were committed before the database is queried.
    """
    source: Literal["data_dir", "file"] = "data_dir" if anchor_file is None else "file"
    try:
        anchor = (read_anchor(anchor_path(), check_seal=check_seal) if anchor_file is None
                  else read_anchor(anchor_file, check_seal=check_seal, follow_symlinks=True))
    except AnchorInvalid as exc:
        return LoadedAnchor(source, problem=str(exc))
    if anchor is None and anchor_file is not None:
        return LoadedAnchor(source, problem="no anchor file at the given path")
    return LoadedAnchor(source, anchor=anchor)


def _hashes_at(session: Session, chains: Chains) -> dict[str, tuple[int, str | None]]:
    """(event id, stored hash) of the event at each anchored seq, for the chains that still have one."""
    found: dict[str, tuple[int, str | None]] = {}
    if GLOBAL_CHAIN in chains:
        row = session.execute(select(AuditEvent.id, AuditEvent.global_hash)
                              .where(AuditEvent.global_seq == chains[GLOBAL_CHAIN][0])).first()
        if row is not None:
            found[GLOBAL_CHAIN] = (row.id, row.global_hash)
    wanted = [(key[len(_TENANT_PREFIX):], seq) for key, (seq, _) in chains.items() if key.startswith(_TENANT_PREFIX)]
    for start in range(0, len(wanted), _BATCH):
        stmt = (select(AuditEvent.id, AuditEvent.tenant_id, AuditEvent.tenant_hash)
                .where(tuple_(AuditEvent.tenant_id, AuditEvent.tenant_seq).in_(wanted[start:start + _BATCH])))
        for row in session.execute(stmt):
            found[tenant_chain(row.tenant_id)] = (row.id, row.tenant_hash)
    return found


def anchor_breaks(session: Session, chains: Chains) -> list[ChainBreak]:
    """Every anchored chain whose anchored seq is gone from the ledger or holds another hash."""
    found = _hashes_at(session, chains)
    breaks = []
    for key in sorted(chains, key=lambda k: (k != GLOBAL_CHAIN, k)):  # global first, as verification is
        seq, digest = chains[key]
        event_id, stored = found.get(key, (None, None))
        if stored != digest:
            breaks.append(ChainBreak(chain=key, seq=seq, event_id=event_id, reason="anchor_mismatch"))
    return breaks


def check_anchor(session: Session, loaded: LoadedAnchor,
                 tenant_id: str | None = None) -> tuple[AnchorReport, list[ChainBreak]]:
    """Compare the ledger with a loaded anchor (only `tenant_id`'s chain when given)."""
    if loaded.problem is not None:
        return AnchorReport(status="invalid", source=loaded.source, detail=loaded.problem), []
    if loaded.anchor is None:
        return AnchorReport(status="missing", source=loaded.source), []
    chains = loaded.anchor.chains
    if tenant_id is not None:
        key = tenant_chain(tenant_id)
        chains = {key: chains[key]} if key in chains else {}
    breaks = anchor_breaks(session, chains)
    detail = (f"the ledger no longer holds the anchored head of {len(breaks)} chain(s)" if breaks else None)
    return AnchorReport(status="mismatch" if breaks else "ok", source=loaded.source,
                        written_at=loaded.anchor.written_at, chains_compared=len(chains), detail=detail), breaks


def _advance(session: Session, anchored: Chains) -> tuple[Chains, list[ChainBreak]]:
    """The anchored heads moved up to the database's sealed heads (never back, never off their chain),
    and the anchored chains whose head the ledger no longer continues."""
    heads = read_heads(session)
    # Only a chain whose head moved needs its anchored link looked up; verification checks the rest.
    moved = {key: head for key, head in anchored.items() if heads.get(key, (0, ""))[:2] != head}
    breaks = anchor_breaks(session, moved)
    frozen = {b.chain for b in breaks}
    merged = dict(anchored)
    for key, (seq, digest, seal) in heads.items():
        if key in frozen or seq <= merged.get(key, (0, ""))[0]:
            continue
        if not seal_matches(key, seq, digest, seal):  # not written with the server secret: not anchored
            log.warning("audit_anchor_unsealed_head", chain=key, seq=seq)
            continue
        merged[key] = (seq, digest)
    return merged, breaks


def refresh_anchor(path: Path | None = None, *, reseal: bool = False) -> RefreshResult:
    """Move the stored anchor up to the database's sealed heads, under the anchor's file lock.

    A chain whose anchored head the ledger no longer continues keeps its anchored head (the
    evidence); an anchor that cannot be trusted is left as it is for verification to report.
    `reseal` accepts the stored anchor without its seal and seals it anew (after a secret change).
    """
    path = path or anchor_path()
    with anchor_lock(path):
        try:
            stored = read_anchor(path, check_seal=not reseal)
        except AnchorInvalid as exc:
            log.error("audit_anchor_invalid", detail=str(exc))
            return RefreshResult(anchor=None, problem=str(exc))
        with session_scope(writer=False) as session:
            merged, breaks = _advance(session, stored.chains if stored is not None else {})
        if breaks:
            log.error("audit_anchor_mismatch", chains=[b.chain for b in breaks])
        if stored is not None and merged == stored.chains and not reseal:
            return RefreshResult(anchor=stored, breaks=breaks)
        anchor = seal_anchor(merged)
        write_anchor(path, anchor)
        return RefreshResult(anchor=anchor, breaks=breaks)


# Under a stream of commits the anchor moves at most once per interval (each move reads every chain's
# head and rewrites the file); the first commit after a quiet spell moves it at once.
REFRESH_INTERVAL = 0.2
_last_refresh = -REFRESH_INTERVAL


def _refresh_job() -> None:
    global _last_refresh
    _last_refresh = time.monotonic()  # before reading the database: a commit after this queues another run
    refresh_anchor()


def _schedule_refresh() -> None:
    # Keyed: a refresh still waiting sees this commit too, since it reads the database when it runs.
    mirror.submit(_refresh_job, key=_refresh_job, not_before=_last_refresh + REFRESH_INTERVAL)


def refresh_after_commit(session: Session) -> None:
    """Refresh the anchor on the mirror writer thread once this session's transaction has committed."""
    if _schedule_refresh not in session.info.get(AFTER_COMMIT_KEY, ()):
        on_commit(session, _schedule_refresh)
