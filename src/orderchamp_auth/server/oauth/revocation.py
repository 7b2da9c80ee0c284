"""RFC 7009 revocation by the app; uninstall from the back office, or by unlinking a demo account."""

from __future__ import annotations

import datetime as dt

from ...protocol.tokens import hash_secret
from ..store.models import Installation
from ..store.transaction import Transaction
from ..webhooks.outbox import record_event, uninstalled_payload
from ..webhooks.topics import APP_UNINSTALLED
from .clients import ClientCredentials


def revoke_app_token(tx: Transaction, credentials: ClientCredentials, token: str, now: dt.datetime) -> bool:
    """Revoke a token the app holds. Unknown tokens and other apps' tokens change nothing,
    and the caller answers 200 either way (RFC 7009 section 2.2)."""
    tokens = tx.tokens
    found = tokens.get_app_token(hash_secret(token), credentials.app_id)
    if found is None:
        return False
    return tokens.revoke(found.id, now) > 0


def uninstall(tx: Transaction, installation: Installation, now: dt.datetime) -> int:
    """Mark the installation uninstalled, revoke every token it issued and end its unused codes."""
    # The installation first: on PostgreSQL its row lock orders this after (or before) any
    # exchange of the installation's codes (see ``grants.claim_code``).
    tx.installations.mark_uninstalled(installation, now)
    revoked = tx.tokens.revoke_for_installation(installation.id, now)
    tx.codes.expire_outstanding_for_installation(installation.id, now)
    # In this transaction, after the revocation: when the app receives it, its tokens are dead.
    app = tx.apps.get(installation.app_id)
    assert app is not None
    record_event(tx, installation.account_id, APP_UNINSTALLED,
                 uninstalled_payload(app.client_id, installation.account_id, now), app_id=app.id, now=now)
    tx.webhook_subscriptions.delete_of_app(installation.account_id, installation.app_id)
    return revoked


def unlink_and_uninstall(tx: Transaction, partner_id: int, account_id: int, now: dt.datetime) -> int | None:
    """Unlink a partner's demo account and uninstall the partner's unverified apps there (the
    link was what made them installable). How many tokens that revoked; ``None`` if the
    account was not linked."""
    if not tx.partners.unlink_demo_account(partner_id, account_id):
        return None
    installations = tx.installations.list_live_unverified_of_partner(partner_id, account_id)
    return sum(uninstall(tx, installation, now) for installation in installations)
