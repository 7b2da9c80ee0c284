"""Reads of the catalogue and orders of one account: keyset pages, batch loads by id or by parent.

The repository knows tables and columns, nothing of the API's wire format: a caller names
the columns it needs and may give a converter per column (``Projection``), keyset values
come in and go out as plain values (``Window``, ``Page.keys``), filters are named column
conditions (``Condition``). Every read returns rows laid out as ``(id, *columns)``.
Reads run on the driver (``driver_statements``), each statement compiled once per shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from .. import models as m
from ..driver_statements import Converter, id_in, text_in
from ..types import UTCDateTime

MODELS: dict[str, type[m.Base]] = {mapper.local_table.name: mapper.class_  # type: ignore[attr-defined]
                                   for mapper in m.Base.registry.mappers}

if TYPE_CHECKING:
    from ..database import Database
    from ..transaction import Transaction


@dataclass(frozen=True, eq=False)
class Projection:
    """Which columns of ``table`` a read returns (after the id), each with an optional
    converter applied to its non-null values. It keys its compiled statements by identity
    (hashing the content on every read costs more than the read's own bookkeeping), so make
    one per shape and keep it (as ``api/description.py`` does)."""

    table: str
    columns: tuple[str, ...]
    shaping: tuple[Converter | None, ...] = ()

    def selected(self) -> list[Any]:
        model = MODELS[self.table]
        return [model.id.label("_id"),  # type: ignore[attr-defined]
                *(getattr(model, name).label(f"c{i}") for i, name in enumerate(self.columns))]

    @cached_property
    def converters(self) -> dict[str, Converter]:
        return {f"c{i}": shape for i, shape in enumerate(self.shaping) if shape is not None}


@dataclass(frozen=True)
class ChildRead:
    """One relation's read in ``CatalogueRepository.children_of_each``: the ``projection`` of
    the rows whose ``parent_column`` holds a parent's id, in ``order`` then id. Compared by
    value (its projection by identity), so that plans of one shape share their statement."""

    projection: Projection
    parent_column: str
    order: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ordering:
    """A keyset order: one sort column (or none) and the id as tie-breaker."""

    column: str | None = None
    descending: bool = False


@dataclass(frozen=True)
class Condition:
    """``column`` is true / is false / is at least ``value``: the filters a page can have."""

    column: str
    op: str  # "is_true", "is_false", "at_least"
    value: Any = None


@dataclass(frozen=True)
class Window:
    """``limit`` rows after/before the keyset values given (each a tuple, one per key column)."""

    limit: int
    backwards: bool = False
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None


@dataclass
class Page:
    rows: list[Any]
    keys: list[tuple[Any, ...]]  # the keyset values of each row
    has_next: bool
    has_previous: bool
    count: Callable[[], int]


def _after(columns: list[Any], values: list[Any], descending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the (columns..., ascending or descending) order."""
    column, rest = columns[0], columns[1:]
    value, rest_values = values[0], values[1:]
    beyond = column < value if descending else column > value
    if not rest:
        return beyond
    return or_(beyond, and_(column == value, _after(rest, rest_values, descending)))


def _condition(model: Any, condition: Condition, index: int) -> ColumnElement[bool]:
    column = getattr(model, condition.column)
    if condition.op == "is_true":
        return column.is_(True)  # type: ignore[no-any-return]
    if condition.op == "is_false":
        return column.is_(False)  # type: ignore[no-any-return]
    if condition.op == "at_least":
        return column >= bindparam(f"cond_{index}", type_=column.type)  # type: ignore[no-any-return]
    raise ValueError(f"unknown condition {condition.op}")


def keyset_kinds(table: str, ordering: Ordering) -> tuple[str, ...]:
    """What each keyset value of a page in this order is: ``"time"`` (a UTC time), ``"id"``
    (a row id), ``"int"``/``"big"`` (a 32/64-bit integer), so a caller can check values it
    is given before they reach a read."""
    if ordering.column is None:
        return ("id",)
    column_type = getattr(MODELS[table], ordering.column).type
    if isinstance(column_type, UTCDateTime):
        kind = "time"
    else:
        kind = "big" if isinstance(column_type, BigInteger) else "int"
    return (kind, "id")


def column_facts(table: str, column: str) -> tuple[type, bool]:
    """The Python type of a column's values, and whether it may hold null."""
    if column == "id":
        return int, False
    col = getattr(MODELS[table], column).property.columns[0]
    return col.type.python_type, bool(col.nullable)


class CatalogueRepository:
    """Reads (and, given a session, the objects mutations change) of one account.

    Runs in one ``Transaction`` (mutations use its ORM session)."""

    def __init__(self, tx: Transaction, account_id: int) -> None:
        self.tx = tx
        self.account_id = account_id

    @property
    def session(self) -> Session:
        return self.tx.session

    def _read(self, key: tuple[Any, ...], build: Callable[[Dialect], Any], converters: dict[str, Converter] | None,
              json_lists: Sequence[str] = (), **params: Any) -> list[Any]:
        """Run the statement of this shape (built and compiled once per database)."""
        tx = self.tx
        dialect = tx.dialect
        read = tx.statement(("catalogue", *key), lambda: build(dialect), json_lists,
                            (lambda: converters) if converters else None)
        return tx.rows(read, {"account_id": self.account_id, **params})

    def _scoped(self, projection: Projection) -> Any:
        model = MODELS[projection.table]
        return select(*projection.selected()).where(model.account_id == bindparam("account_id"))  # type: ignore[attr-defined]

    def page(self, projection: Projection, window: Window, ordering: Ordering = Ordering(),
             conditions: Sequence[Condition] = ()) -> Page:
        """One page in keyset order; the values of ``conditions`` are bound parameters, so
        each shape of statement is built only once."""
        model = MODELS[projection.table]
        key_columns = [model.id] if ordering.column is None else [getattr(model, ordering.column), model.id]  # type: ignore[attr-defined]
        desc, backwards, limit = ordering.descending, window.backwards, window.limit
        values: dict[str, Any] = {"limit": limit + 1}
        values.update({f"cond_{i}": c.value for i, c in enumerate(conditions) if c.op == "at_least"})
        if window.after is not None:
            values.update({f"after_{i}": v for i, v in enumerate(window.after)})
        if window.before is not None:
            values.update({f"before_{i}": v for i, v in enumerate(window.before)})
        shape = tuple((c.column, c.op) for c in conditions)
        key = ("page", projection, ordering, backwards, window.after is not None, window.before is not None, shape)

        def build(_dialect: Dialect) -> Any:
            query = self._scoped(projection).where(*(_condition(model, c, i) for i, c in enumerate(conditions)))
            if ordering.column is not None:
                query = query.add_columns(key_columns[0].label("_sort"))
            if window.after is not None:
                query = query.where(_after(key_columns, [bindparam(f"after_{i}") for i in range(len(key_columns))],
                                           desc))
            if window.before is not None:
                query = query.where(_after(key_columns, [bindparam(f"before_{i}") for i in range(len(key_columns))],
                                           not desc))
            scan_desc = desc != backwards
            return query.order_by(*(c.desc() if scan_desc else c.asc() for c in key_columns)).limit(bindparam("limit"))

        rows = self._read(key, build, projection.converters, **values)
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        if ordering.column is not None:
            sort_index = 1 + len(projection.columns)
            keys: list[tuple[Any, ...]] = [(row[sort_index], row[0]) for row in rows]
        else:
            keys = [(row[0],) for row in rows]
        # Relay: in the direction of travel "more" is exact; the other side is exact when a
        # cursor was given (something lies beyond it), and false at the start.
        has_next = more if not backwards else window.before is not None
        has_previous = more if backwards else window.after is not None

        def count() -> int:
            counted = self._read(
                ("count", projection.table, shape),
                lambda _dialect: select(func.count().label("count")).select_from(model).where(
                    model.account_id == bindparam("account_id"),  # type: ignore[attr-defined]
                    *(_condition(model, c, i) for i, c in enumerate(conditions)),
                ),
                None, **{k: v for k, v in values.items() if k.startswith("cond_")},
            )
            return int(counted[0][0] or 0)

        return Page(rows, keys, has_next, has_previous, count)

    def by_ids(self, projection: Projection, ids: Iterable[int]) -> list[Any]:
        """The rows of these ids (of this account), in id order."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        model = MODELS[projection.table]
        return self._matching(("by_ids", projection), projection, model.id, wanted, (model.id,))  # type: ignore[attr-defined]

    def children(self, projection: Projection, parent_column: str, parent_ids: Iterable[int],
                 order: Sequence[str] = ()) -> list[Any]:
        """Children of the given parents, by parent, then in ``order`` then id (the order the
        (account_id, parent, ...) indexes give, so no sort)."""
        wanted = sorted(set(parent_ids))
        if not wanted:
            return []
        model = MODELS[projection.table]
        column = getattr(model, parent_column)
        return self._matching(("children", projection, parent_column, tuple(order)), projection, column, wanted,
                              (column, *(getattr(model, name) for name in order), model.id))  # type: ignore[attr-defined]

    def children_of_each(self, reads: Sequence[ChildRead], parent_ids: Iterable[int]) -> list[list[Any]]:
        """``children`` of several relations of the same parents (a product's variants and its
        images), one list of rows per read. For one parent on PostgreSQL in one statement
        (``_union``): there a statement is a round trip, most of what such a small read costs.
        Otherwise each read on its own: for a page of parents the union's sort costs what the
        round trip saves (``benchmarks/README.md``), and SQLite has no round trip to save."""
        wanted = sorted(set(parent_ids))
        if not wanted:
            return [[] for _ in reads]
        if len(reads) <= 1 or len(wanted) > 1 or self.tx.dialect.name != "postgresql":
            return [self.children(read.projection, read.parent_column, wanted, read.order) for read in reads]
        return self._union(tuple(reads), wanted[0])

    def one_with_children(self, projection: Projection, object_id: int, reads: Sequence[ChildRead]
                          ) -> tuple[list[Any], list[list[Any]]]:
        """``by_ids`` of one object and, if it is found, ``children_of_each`` of it: a single
        object's read (every webhook payload's). On PostgreSQL in one statement, the object's
        row read as one more block of ``_union`` (its id as the "parent" column)."""
        if not reads or self.tx.dialect.name != "postgresql":
            rows = self.by_ids(projection, [object_id])
            return rows, (self.children_of_each(reads, [object_id]) if rows else [[] for _ in reads])
        found = self._union((ChildRead(projection, "id"), *reads), object_id)
        # Children name their parent, so none come without it; dropped all the same, so that
        # the answer is the other databases' whatever the rows hold.
        return found[0], (found[1:] if found[0] else [[] for _ in reads])

    def _union(self, reads: tuple[ChildRead, ...], parent_id: int) -> list[list[Any]]:
        """The rows of each read whose parent is ``parent_id``, as a ``UNION ALL`` of the reads
        (each read's columns in a block of their own, null in the other reads' rows)."""
        widths = [1 + len(read.projection.columns) for read in reads]
        starts = [2 + sum(widths[:i]) for i in range(len(reads))]

        def build(_dialect: Dialect) -> Any:
            blocks = [read.projection.selected() for read in reads]
            branches = []
            for i, read in enumerate(reads):
                model = MODELS[read.projection.table]
                column = getattr(model, read.parent_column)
                cells = [(selected.element if i == j else cast(null(), selected.type)).label(f"b{j}_{k}")
                         for j, block in enumerate(blocks) for k, selected in enumerate(block)]
                sequence = func.row_number().over(order_by=[column, *(getattr(model, name) for name in read.order),
                                                            model.id])  # type: ignore[attr-defined]
                branches.append(select(literal_column(str(i)).label("_read"), sequence.label("_seq"), *cells)
                                .where(model.account_id == bindparam("account_id"),  # type: ignore[attr-defined]
                                       column == bindparam("one", type_=column.type)))
            return union_all(*branches).order_by("_read", "_seq")

        converters = {f"b{j}_{i + 1}": convert for j, read in enumerate(reads)
                      for i, convert in enumerate(read.projection.shaping) if convert is not None}
        rows = self._read(("children_of_each", reads), build, converters, one=parent_id)
        found: list[list[Any]] = [[] for _ in reads]
        for row in rows:
            read = row[0]
            found[read].append(row[starts[read]:starts[read] + widths[read]])
        return found

    def by_texts(self, projection: Projection, column: str, values: Sequence[str]) -> list[Any]:
        """Rows whose text ``column`` is one of ``values``, in id order."""
        if not values:
            return []
        model = MODELS[projection.table]
        return self._matching(("by_texts", projection, column), projection, getattr(model, column), list(values),
                              (model.id,), texts=True)  # type: ignore[attr-defined]

    def _matching(self, key: tuple[Any, ...], projection: Projection, column: Any, values: list[Any],
                  order: Sequence[Any], *, texts: bool = False) -> list[Any]:
        """The rows whose ``column`` is one of ``values``, in ``order``. One value (a single
        object's read, and its children's: every webhook payload) is compared with ``=``: a
        plain bound value, where a list is an array (PostgreSQL) or a JSON text unpacked by
        json_each (SQLite) for the database to take apart."""
        if len(values) == 1:
            return self._read((*key, "one"), lambda _dialect: self._scoped(projection).where(
                column == bindparam("one", type_=column.type)).order_by(*order), projection.converters,
                one=values[0])
        name = "texts" if texts else "ids"
        in_list = text_in if texts else id_in
        return self._read(key, lambda dialect: self._scoped(projection).where(
            in_list(column, dialect, name)).order_by(*order), projection.converters, json_lists=(name,),
            **{name: values})

    def account(self, projection: Projection) -> list[Any]:
        """The account itself (one row, or none)."""
        return self._read(("account", projection), lambda _dialect: select(*projection.selected()).where(
            m.Account.id == bindparam("account_id")), projection.converters)

    def data_version(self) -> int:
        """The account's data version (``models.DataVersion``); 0 before its first change."""
        rows = self._read(("data_version",), lambda _dialect: _data_version_select(), None)
        return int(rows[0][0]) if rows else 0


def _data_version_select() -> Any:
    return select(m.DataVersion.version).where(m.DataVersion.account_id == bindparam("account_id"))


async def data_version_on_loop(database: Database, account_id: int) -> int | None:
    """``CatalogueRepository.data_version`` for the event loop, outside any transaction
    (``Database.rows_on_loop``); ``None`` where only a transaction can read it now."""
    statement = database.statements.get(("catalogue", "data_version"), _data_version_select)
    rows = await database.rows_on_loop(statement, {"account_id": account_id})
    if rows is None:
        return None
    return int(rows[0][0]) if rows else 0
