"""Rows read with one Core statement, changed through attributes, written back with one UPDATE each.

The hot write paths use them where loading ORM objects and running the unit of work would cost more
than the change itself; the state rules take any object with the columns as attributes, so they
serve ORM objects and records alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from autopack.core import statements

# One `UPDATE ... WHERE <primary key>` per table, built once (building it and its WHERE clause on every
# save cost more than running it); the changed columns' values in the parameters make its SET clause.
_UPDATES: dict[Table, Update] = {}


class Record:
    """One row of `table` as attributes; remembers which columns were set."""

    __slots__ = ("_table", "_values", "_changed")

    def __init__(self, table: Table, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_changed", set())

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise AttributeError(f"{self._table.name} has no column {name}")
        if self._values[name] != value or type(self._values[name]) is not type(value):
            self._values[name] = value
            self._changed.add(name)

    def save(self, session: Session) -> bool:
        """UPDATE the changed columns by primary key; False when nothing changed."""
        if not self._changed:
            return False
        params = {name: self._values[name] for name in self._changed}
        stmt = _update_of(self._table)
        for column in self._table.primary_key.columns:
            params[f"pk_{column.name}"] = self._values[column.name]
        # On the session's connection by the driver: no ORM (or Core) execution layer for a plain UPDATE.
        statements.execute(session.connection(), stmt, params)
        self._changed.clear()
        return True


def _update_of(table: Table) -> Update:
    """`UPDATE table WHERE <primary key>` (parameters `pk_<column>`)."""
    stmt = _UPDATES.get(table)
    if stmt is None:
        stmt = _UPDATES[table] = update(table).where(
            *(c == bindparam(f"pk_{c.name}") for c in table.primary_key.columns))
    return stmt


def split_row(row: Mapping[str, Any], tables: dict[str, Table]) -> dict[str, Record]:
    """Records from one row whose columns are labelled `<prefix>__<column>` for each of `tables`."""
    parts: dict[str, dict[str, Any]] = {prefix: {} for prefix in tables}
    for key, value in row.items():
        prefix, _, column = key.partition("__")
        parts[prefix][column] = value
    return {prefix: Record(table, parts[prefix]) for prefix, table in tables.items()}
