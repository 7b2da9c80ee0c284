"""The description (api/description.py) and the SDL agree: every field of a described type
is a column or a relation of it, every root field is described, and every column exists."""

from __future__ import annotations

import pytest
from graphql import get_named_type

from orderchamp_auth.server.api.description import ROOT_FIELDS, TYPES
from orderchamp_auth.server.api.schema import build_api_schema
from orderchamp_auth.server.store.repositories.catalogue import MODELS, column_facts

SCHEMA = build_api_schema()


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_every_field_of_a_described_type_is_a_column_or_a_relation(type_name):
    spec = TYPES[type_name]
    described = set(spec.columns) | {r.field for r in spec.relations}
    if type_name != "ShipmentItem":  # the one type with no id of its own in the API
        described.add("id")
    assert set(SCHEMA.type_map[type_name].fields) == described  # type: ignore[union-attr]
    for relation in spec.relations:
        target = get_named_type(SCHEMA.type_map[type_name].fields[relation.field].type)  # type: ignore[union-attr]
        expected = relation.target if relation.kind == "parent" or relation.is_list else f"{relation.target}Connection"
        assert target.name == expected


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_every_described_column_exists(type_name):
    spec = TYPES[type_name]
    assert spec.table in MODELS
    for column in spec.columns.values():
        column_facts(spec.table, column)
    for relation in spec.relations:
        if relation.kind == "parent":
            column_facts(spec.table, relation.key)  # this row holds the parent's id
        else:
            for column in (relation.key, *relation.order):  # the children hold this row's id
                column_facts(TYPES[relation.target].table, column)


def test_every_root_field_is_described():
    assert set(SCHEMA.query_type.fields) == set(ROOT_FIELDS)  # type: ignore[union-attr]
    for root in ROOT_FIELDS.values():
        if root.kind != "node":
            target = get_named_type(SCHEMA.query_type.fields[root.name].type)  # type: ignore[union-attr]
            assert target.name in (root.type_name, f"{root.type_name}Connection")
