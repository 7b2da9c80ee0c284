"""Resolvers: plain functions reading through repositories, always within the token's account."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLSchema

from ...protocol.errors import GlobalIdError
from ...protocol.global_ids import decode_global_id, encode_global_id
from ...protocol.scopes import Scope
from ..store.models import Account
from ..store.repositories.accounts import AccountRepository
from .guard import access_denied


def resolve_account(_parent: Any, info: Any) -> Account | None:
    return AccountRepository(info.context.session).get(info.context.account_id)


def resolve_node(_parent: Any, info: Any, id: str) -> Any:
    try:
        type_name, local_id = decode_global_id(id)
    except GlobalIdError:
        return None
    if type_name == "Account":
        if local_id != str(info.context.account_id):
            return None
        if Scope.ACCOUNT_READ not in info.context.scopes:
            return access_denied(Scope.ACCOUNT_READ)
        return AccountRepository(info.context.session).get(info.context.account_id)
    return None


def account_id(account: Account, _info: Any) -> str:
    return encode_global_id("Account", account.id)


def account_created_at(account: Account, _info: Any) -> str:
    return account.created_at.isoformat().replace("+00:00", "Z")


def resolve_node_type(obj: Any, _info: Any, _type: Any) -> str:
    return type(obj).__name__


def bind_resolvers(schema: GraphQLSchema) -> None:
    query = schema.query_type
    assert query is not None
    query.fields["account"].resolve = resolve_account
    query.fields["node"].resolve = resolve_node
    account_type = schema.type_map["Account"]
    account_type.fields["id"].resolve = account_id  # type: ignore[attr-defined]
    account_type.fields["createdAt"].resolve = account_created_at  # type: ignore[attr-defined]
    schema.type_map["Node"].resolve_type = resolve_node_type  # type: ignore[attr-defined]
