"""Statements compiled once by SQLAlchemy, then run straight on the driver's connection.

For the hot paths: the API's reads, and the token endpoint's few statements. SQLAlchemy writes
the SQL (for the connection's dialect) and supplies the type conversions, both once per
statement; each request then costs one driver call (and a ``fetchall``). Going through ``Connection.execute`` would add SQLAlchemy's per-execution and
per-row machinery, which on SQLite costs more than the query. The values are the same either
way: the bind and result processors applied here are the ones SQLAlchemy would apply.

Reached only through a ``Transaction`` (``store.transaction``), which runs a statement on its
own driver connection, in its transaction; the compiled statements are the ``Database``'s
(``StatementCache``).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    any_,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect

Converter = Callable[[Any], Any]


@dataclass
class CompiledStatement:
    sql: str
    positional: tuple[str, ...] | None  # parameter order for "?" dialects; None for named ones
    defaults: dict[str, Any]  # parameters SQLAlchemy bound itself (e.g. SQLite's OFFSET 0)
    binds: tuple[tuple[str, Converter], ...]  # parameter -> bind processor, where one applies
    columns: tuple[str, ...]  # result column labels
    types: tuple[Any, ...]  # each column's SQLAlchemy type
    json_lists: frozenset[str]  # list parameters sent as one JSON text (SQLite, see id_in)
    shaping: dict[str, Converter]  # column label -> conversion after SQLAlchemy's own
    # column index -> converter; known after the first run, because some result processors
    # depend on the type the driver reports (PostgreSQL's numeric kinds)
    converters: tuple[tuple[int, Converter], ...] | None = None

    def parameters(self, values: dict[str, Any]) -> Any:
        if self.defaults or self.json_lists or self.binds:
            params = {**self.defaults, **values}
            for name in self.json_lists:
                params[name] = json.dumps(params[name])
            for name, process in self.binds:
                value = params.get(name)
                if value is not None:
                    params[name] = process(value)
        else:
            params = values  # nothing to change: the caller's values are read, not copied
        if self.positional is not None:
            return self._in_order(params)
        return params

    def __post_init__(self) -> None:
        # ``positional``'s values as a tuple in one C call (``itemgetter``), made once
        names = self.positional or ()
        if len(names) > 1:
            self._in_order: Callable[[dict[str, Any]], tuple[Any, ...]] = itemgetter(*names)
        else:
            self._in_order = (lambda params: (params[names[0]],)) if names else (lambda params: ())

    def converters_for(self, dialect: Dialect, description: Sequence[Any]) -> tuple[tuple[int, Converter], ...]:
        """SQLAlchemy's result processor of each column, then ``shaping``, composed so that a
        row is converted in one pass."""
        converters: list[tuple[int, Converter]] = []
        for index, (label, type_, column) in enumerate(zip(self.columns, self.types, description, strict=True)):
            shape = self.shaping.get(label)
            if getattr(shape, "takes_driver_value", False):
                converters.append((index, shape))  # type: ignore[arg-type]
                continue
            process = type_.dialect_impl(dialect).result_processor(dialect, column[1])
            if process is not None and shape is not None:
                converters.append((index, _compose(process, shape)))
            elif process is not None:
                converters.append((index, process))
            elif shape is not None:
                converters.append((index, shape))
        return tuple(converters)


def _compose(first: Converter, then: Converter) -> Converter:
    def convert(value: Any) -> Any:
        value = first(value)
        return None if value is None else then(value)

    return convert


def compile_statement(statement: Any, dialect: Dialect, json_lists: Sequence[str] = (),
                 shaping: dict[str, Converter] | None = None) -> CompiledStatement:
    compiled = statement.compile(dialect=dialect)
    if dialect.name != "sqlite":
        json_lists = ()  # PostgreSQL takes the list itself, as an array (see id_in)
    binds = []
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name not in json_lists:
            binds.append((name, process))
    positional = tuple(compiled.positiontup) if compiled.positional else None
    # Values SQLAlchemy bound on its own (an anonymous OFFSET 0, literals); ours come per run.
    defaults = {name: bind.effective_value for bind, name in compiled.bind_names.items() if not bind.required}
    # A SELECT's columns, or a DML statement's RETURNING columns (none: see ``execute``).
    selected = statement.selected_columns if hasattr(statement, "selected_columns") else statement.exported_columns
    return CompiledStatement(compiled.string, positional, defaults, tuple(binds), tuple(selected.keys()),
                        tuple(column.type for column in selected), frozenset(json_lists), dict(shaping or {}))


MAX_COMPILED = 4096


class StatementCache:
    """One database's compiled statements, by key. Keys include the columns a query selects,
    which a client chooses: bounded, oldest out (a statement pushed out is compiled again on
    its next use). Belongs to a ``Database``: its dialect is fixed, so the key needs no dialect."""

    def __init__(self, dialect: Dialect, max_size: int = MAX_COMPILED) -> None:
        self.dialect = dialect
        self.max_size = max_size
        self._compiled: OrderedDict[Hashable, CompiledStatement] = OrderedDict()

    def __len__(self) -> int:
        return len(self._compiled)

    def get(self, key: Hashable, build: Callable[[], Any], json_lists: Sequence[str] = (),
            shaping: Callable[[], dict[str, Converter]] | None = None) -> CompiledStatement:
        """The statement for ``key``, built (with its ``shaping``) and compiled on first use."""
        statement = self._compiled.get(key)
        if statement is None:
            statement = self._compiled[key] = compile_statement(build(), self.dialect, json_lists,
                                                                shaping() if shaping else None)
            if len(self._compiled) > self.max_size:
                self._compiled.popitem(last=False)
        return statement


def run(cursor: Any, dialect: Dialect, read: CompiledStatement, values: dict[str, Any]) -> list[Any]:
    """All rows of ``read`` (a SELECT, or DML with RETURNING) on a driver cursor (the
    transaction's): tuples as the driver gives them when no conversion applies, else lists
    with the statement's converters applied."""
    cursor.execute(read.sql, read.parameters(values))
    rows = cursor.fetchall()
    converters = read.converters
    if converters is None:
        converters = read.converters = read.converters_for(dialect, cursor.description)
    if not converters:
        return rows  # type: ignore[no-any-return]
    out = []
    for row in rows:
        row = list(row)
        for index, convert in converters:
            value = row[index]
            if value is not None:
                row[index] = convert(value)
        out.append(row)
    return out


def execute(cursor: Any, statement: CompiledStatement, values: dict[str, Any]) -> int:
    """Run a statement that returns no rows (an INSERT, an UPDATE); the number of rows it changed."""
    cursor.execute(statement.sql, statement.parameters(values))
    return int(cursor.rowcount)


def execute_many(cursor: Any, statement: CompiledStatement, rows: Sequence[dict[str, Any]]) -> None:
    """``execute`` once per row, in one driver call (a statement's round trips, not its parsing)."""
    if len(rows) == 1:
        cursor.execute(statement.sql, statement.parameters(rows[0]))
        return
    cursor.executemany(statement.sql, [statement.parameters(values) for values in rows])


def id_in(column: Any, dialect: Dialect, name: str = "ids") -> ColumnElement[bool]:
    """``column IN (the list of integers bound as name)``, one SQL text for any list length.

    An expanding IN would render a new statement per length, which the driver path cannot
    reuse; PostgreSQL takes an array, SQLite a JSON array read back with json_each (both
    still use the column's index). On SQLite, list ``name`` among the read's ``json_lists``.
    """
    return _in_list(column, dialect, name, BigInteger())


def text_in(column: Any, dialect: Dialect, name: str) -> ColumnElement[bool]:
    """``id_in`` for a list of strings."""
    return _in_list(column, dialect, name, String())


def _in_list(column: Any, dialect: Dialect, name: str, item_type: Any) -> ColumnElement[bool]:
    if dialect.name == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(item_type)))  # type: ignore[no-any-return]
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name))))  # type: ignore[no-any-return]
