"""Install start (SPEC section 7 step 1) and the accounts a user may act for."""

from __future__ import annotations

import datetime as dt

from ...protocol.signing import build_signed_url
from ..errors import NotFoundError
from ..store.models import App
from ..store.transaction import Transaction
from .authorize import is_installable
from .clients import ClientSecrets


def install_start_url(
    tx: Transaction, client_secrets: ClientSecrets, *, client_id: str, account_id: int, now: dt.datetime
) -> str:
    """The signed application URL the Install button sends the user to."""
    app = tx.apps.get_by_client_id(client_id)
    if app is None or not is_installable(tx, app, account_id):
        raise NotFoundError("That app does not exist or cannot be installed on this account.")
    return signed_application_url(app, client_secrets, account_id=account_id, now=now)


def signed_application_url(app: App, client_secrets: ClientSecrets, *, account_id: int, now: dt.datetime) -> str:
    params = [("account_id", str(account_id)), ("timestamp", str(int(now.timestamp())))]
    return build_signed_url(app.application_url, params, client_secrets.signing_secret(app))
