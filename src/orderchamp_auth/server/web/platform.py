"""The wired parts every route needs, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from starlette.requests import Request

from ..keys import SecretBox
from ..oauth.bearer import BearerAuthenticator
from ..oauth.clients import ClientSecrets
from ..settings import Settings
from ..store.database import Database
from ..webhooks.outbox import ObjectPayloads


@dataclass
class Platform:
    settings: Settings
    database: Database
    secret_box: SecretBox
    client_secrets: ClientSecrets
    authenticator: BearerAuthenticator
    templates: Environment
    object_payloads: ObjectPayloads  # webhook payloads for the pages' writes (the API's shape)


def platform_of(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]
