"""Many rows into one table through the driver's executemany, the values every row shares processed once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert


@dataclass(frozen=True)
class _Statement:
    sql: str
    order: tuple[str, ...] | None  # parameter names in order (positional drivers); None: by name
    defaults: dict[str, Any]  # the columns' scalar defaults, for the columns no row names
    processors: dict[str, Callable[[Any], Any]]  # each parameter's type processor, where it has one


_compiled: dict[tuple, _Statement] = {}


def _statement(conn: Connection, table: Table, names: tuple[str, ...]) -> _Statement:
    key = (conn.dialect.name, table.name, names)
    statement = _compiled.get(key)
    if statement is None:
        compiled = insert(table).values({n: bindparam(n) for n in names}).compile(dialect=conn.dialect)
        defaults = {}
        for column in compiled.insert_prefetch:  # columns left to their Python-side default
            if column.default is None or not column.default.is_scalar:
                raise ValueError(f"{table.name}.{column.key} has a computed default: give it a value")
            defaults[column.key] = column.default.arg
        processors = {}
        for name in compiled.params:
            processor = table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            if processor is not None:
                processors[name] = processor
        order = tuple(compiled.positiontup) if compiled.positional else None
        statement = _compiled[key] = _Statement(compiled.string, order, defaults, processors)
    return statement


def insert_many(conn: Connection, table: Table, shared: Mapping[str, Any],
                rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (the same keys in each) into `table`, each row also taking `shared`'s values.

    Core's executemany runs every parameter of every row through its type's processor and every
    Python-side default per row: at hundreds of rows that costs more than the insert itself. Here the
    statement is compiled once per dialect, the shared values and scalar defaults are processed once,
    and a row's own values go through a processor only where their type has one (JSON, timestamps).
    """
    if not rows:
        return
    own = tuple(rows[0])
    statement = _statement(conn, table, (*own, *shared))
    procs = statement.processors
    base = {name: procs[name](value) if name in procs else value
            for name, value in {**statement.defaults, **shared}.items()}
    per_row = [(name, procs.get(name)) for name in own]
    params = []
    for row in rows:
        values = dict(base)
        for name, processor in per_row:
            value = row[name]
            values[name] = value if processor is None else processor(value)
        params.append(values if statement.order is None else tuple(values[n] for n in statement.order))
    conn.exec_driver_sql(statement.sql, params)
