"""Tenant scope: every query on tenant-owned rows is built here, so the filter cannot be forgotten.

A table is tenant-scoped when it has a `tenant_id` column. `scoped()` adds `tenant_id = :tenant` for
every such table in a statement's FROM list and refuses a statement that touches none (a typo'd model
must not silently run unscoped). Nothing outside this module writes `tenant_id ==`; a source scan in
tests/tenants/test_isolation.py keeps it so.

The audit ledger (`audit_events`) is treated as tenant-scoped data too, with one difference: its
`tenant_id` is the text key of the event's hash chain, not a foreign key to `tenants` (events outlive
their tenant, and instance-wide events have none), so the filter compares with `str(tenant_id)`.
Who may read a tenant's events (superusers only, `/api/audit`) is an access rule for the router;
the scope only guarantees that a per-tenant read returns that tenant's events and no other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Select, Table, Update, bindparam, delete, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import FromClause, Join

TENANT_COLUMN = "tenant_id"
# The tenant as a parameter, for statements built once and run for many tenants: pass
# `{"tenant_id": ...}` when executing (the ledger's text key as str, see above).
TENANT = bindparam("tenant_id")


class UnscopedQuery(TypeError):
    """A tenant scope was asked of a model or statement that has no tenant-owned table."""


def _from_clause(entity: Any) -> FromClause:
    """The table (or alias) behind a model class, ORM alias or Core table."""
    if isinstance(entity, FromClause):
        return entity
    info = inspect(entity, raiseerr=False)
    selectable = getattr(info, "selectable", None)
    if selectable is None:
        raise UnscopedQuery(f"{entity!r} is not a table or mapped class")
    return selectable


def _key(column: ColumnElement[Any], tenant_id: int | str | BindParameter) -> Any:
    if isinstance(tenant_id, BindParameter):  # TENANT: the value comes with each execution
        return tenant_id
    # The ledger's chain key is text (see the module comment); every other tenant_id is the tenant's id.
    return str(tenant_id) if column.type.python_type is str else tenant_id


def tenant_filter(entity: Any, tenant_id: int | str) -> ColumnElement[bool]:
    """`entity.tenant_id = :tenant` for one model, alias or table; UnscopedQuery when it has none."""
    table = _from_clause(entity)
    if TENANT_COLUMN not in table.c:
        raise UnscopedQuery(f"{getattr(table, 'name', table)} has no {TENANT_COLUMN} column")
    column = table.c[TENANT_COLUMN]
    return column == _key(column, tenant_id)


def _tenant_tables(froms: list[FromClause]) -> list[FromClause]:
    found: list[FromClause] = []
    for clause in froms:
        if isinstance(clause, Join):
            found += _tenant_tables([clause.left, clause.right])
        elif TENANT_COLUMN in clause.c and clause not in found:
            found.append(clause)
    return found


# get_final_froms() compiles the statement (about 1.4 ms); a statement's shape, its cache key without
# the bound values, names the same tables every time, so plain tables found once are remembered.
_TABLES_BY_SHAPE: dict[Any, tuple[FromClause, ...]] = {}
_SHAPES_KEPT = 1024


def _statement_tenant_tables(stmt: Select) -> list[FromClause]:
    cache_key = stmt._generate_cache_key()
    shape = None if cache_key is None else cache_key.key
    if shape is not None and shape in _TABLES_BY_SHAPE:
        return list(_TABLES_BY_SHAPE[shape])
    tables = _tenant_tables(stmt.get_final_froms())
    # Only tables are shared between statements of one shape; an alias is new in every statement.
    if shape is not None and all(isinstance(t, Table) for t in tables):
        if len(_TABLES_BY_SHAPE) >= _SHAPES_KEPT:
            _TABLES_BY_SHAPE.clear()
        _TABLES_BY_SHAPE[shape] = tuple(tables)
    return tables


def scoped(stmt_or_model: Any, tenant_id: int | str) -> Any:
    """The statement (or `select(model)`) limited to one tenant, for every tenant table it reads or writes."""
    stmt = stmt_or_model
    if not isinstance(stmt, Select | Update | Delete):
        stmt = select(stmt_or_model)
    if isinstance(stmt, Update | Delete):
        return stmt.where(tenant_filter(stmt.table, tenant_id))
    tables = _statement_tenant_tables(stmt)
    if not tables:
        raise UnscopedQuery(f"no tenant-scoped table in: {stmt}")
    return stmt.where(*(tenant_filter(table, tenant_id) for table in tables))


def scoped_update(model: Any, tenant_id: int | str) -> Update:
    """`UPDATE model ... WHERE tenant_id = :tenant` (add the rest of the WHERE and the values)."""
    return update(model).where(tenant_filter(model, tenant_id))


def scoped_delete(model: Any, tenant_id: int | str) -> Delete:
    """`DELETE FROM model WHERE tenant_id = :tenant` (add the rest of the WHERE)."""
    return delete(model).where(tenant_filter(model, tenant_id))


def get_scoped(session: Session, model: Any, tenant_id: int | str, ident: Any, *,
               for_update: bool = False, populate_existing: bool = False) -> Any | None:
    """`session.get` within a tenant: the row with primary key `ident` if it is the tenant's, else None."""
    stmt = scoped(select(model).where(inspect(model).primary_key[0] == ident), tenant_id)
    if for_update:
        stmt = stmt.with_for_update()
    if populate_existing:
        stmt = stmt.execution_options(populate_existing=True)
    return session.scalars(stmt).one_or_none()


def belongs_to(owner_tenant_id: int | str | None, tenant_id: int | str) -> bool:
    """Whether something owned by `owner_tenant_id` (a row, a tenant API key) is the tenant's."""
    return owner_tenant_id is not None and str(owner_tenant_id) == str(tenant_id)
