"""What a driver statement is given: its parameters in order, with SQLAlchemy's conversions
(``CompiledStatement.parameters``), and SQLite's text of a UTC datetime made in one step
(``UTCDateTime.bind_processor``) the same as SQLAlchemy's two."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Integer, String, bindparam, column, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from orderchamp_auth.server.store.driver_statements import compile_statement
from orderchamp_auth.server.store.types import UTCDateTime

SQLITE = sqlite.dialect()
VALUES = [
    dt.datetime(2026, 12, 3, 17, 48, 18, 429985, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 3, 17, 48, 18, tzinfo=dt.UTC),  # no microseconds: still six digits
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2026, 1, 1, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-2))),  # the next day in UTC
]


def _sqlalchemy_text(value: dt.datetime) -> str:
    utc = UTCDateTime().dialect_impl(SQLITE)
    process = TypeDecorator.bind_processor(utc, SQLITE)  # process_bind_param, then SQLite's DATETIME
    assert process is not None
    return process(value)  # type: ignore[no-any-return]


@pytest.mark.parametrize("value", VALUES)
def test_sqlite_text_of_a_utc_datetime_is_sqlalchemys(value: dt.datetime) -> None:
    process = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert process is not None
    assert process(value) == _sqlalchemy_text(value)
    assert process(value) == _sqlalchemy_text(value)  # the one remembered, the second time


def test_the_remembered_text_is_that_of_the_value_given() -> None:
    process = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert process is not None
    first, second = VALUES[0], VALUES[0] + dt.timedelta(microseconds=1)
    texts = [process(first), process(second), process(first), process(None)]
    assert texts == [_sqlalchemy_text(first), _sqlalchemy_text(second), _sqlalchemy_text(first), None]


def test_a_naive_datetime_is_refused() -> None:
    process = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert process is not None
    with pytest.raises(ValueError, match="naive"):
        process(dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_postgresql_keeps_sqlalchemys_processing() -> None:
    dialect = postgresql.psycopg.dialect()
    value = VALUES[4]
    utc = UTCDateTime().dialect_impl(dialect)
    process, reference = utc.bind_processor(dialect), TypeDecorator.bind_processor(utc, dialect)
    assert (process(value) if process else value) == (reference(value) if reference else value)
    assert (process(value) if process else value).tzinfo == dt.UTC


T = table("t", column("id", Integer), column("name", String), column("at", UTCDateTime()))


def test_positional_parameters_come_in_the_statements_order_with_conversions() -> None:
    statement = compile_statement(
        select(T.c.id).where(T.c.at > bindparam("b_now", type_=UTCDateTime()), T.c.name == bindparam("b_name"),
                             T.c.at < bindparam("b_now", type_=UTCDateTime()), T.c.name != "fixed"), SQLITE)
    values = {"b_now": VALUES[0], "b_name": "x"}
    params = statement.parameters(values)
    assert params == (_sqlalchemy_text(VALUES[0]), "x", _sqlalchemy_text(VALUES[0]), "fixed")
    assert values == {"b_now": VALUES[0], "b_name": "x"}  # the caller's values are not changed


@pytest.mark.parametrize("names", [(), ("a",), ("a", "b")])
def test_statements_without_conversions_take_their_values_as_given(names: tuple[str, ...]) -> None:
    statement = compile_statement(select(T.c.id).where(*[T.c.name == bindparam(n) for n in names]), SQLITE)
    assert not statement.binds and not statement.defaults
    values = {name: name.upper() for name in names}
    assert statement.parameters(values) == tuple(name.upper() for name in names)
    named = compile_statement(select(T.c.id).where(*[T.c.name == bindparam(n) for n in names]),
                              postgresql.psycopg.dialect())
    assert named.parameters(values) == values
