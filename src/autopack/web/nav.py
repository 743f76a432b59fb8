"""The console's navigation: one entry per page family; another area adds its page with one line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    """A link in the header; `superuser_only` hides it from everyone else (the page refuses them too)."""

    label: str
    path: str
    superuser_only: bool = False


NAV: list[NavEntry] = [
    NavEntry("Runs", "/ui/runs"),
    NavEntry("Approvals", "/ui/approvals"),
    NavEntry("Usage", "/ui/usage"),
    NavEntry("Storage", "/ui/storage"),
    NavEntry("Uploads", "/ui/files"),
    NavEntry("Research", "/ui/research"),
    NavEntry("Audit", "/ui/audit", superuser_only=True),
]


def entries_for(is_superuser: bool) -> list[NavEntry]:
    """The entries a viewer sees."""
    return [entry for entry in NAV if is_superuser or not entry.superuser_only]
