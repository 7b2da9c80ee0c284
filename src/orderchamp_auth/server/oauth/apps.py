"""Creating and validating partner apps (used by the CLI, the demo and the partner pages)."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from ..errors import ValidationError
from ..store.models import App, AppStatus
from ..store.repositories.apps import AppRepository
from .clients import ClientSecrets

MAX_URL_LENGTH = 2000
MAX_REDIRECT_URIS = 10
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_app_url(url: str, field: str) -> str | None:
    """What is wrong with an application or redirect URL, or ``None``.

    HTTPS, or plain HTTP on loopback for development (RFC 8252 section 7.3); absolute; no
    fragment (RFC 6749 section 3.1.2); no credentials.
    """
    if not url:
        return f"The {field} is required."
    if len(url) > MAX_URL_LENGTH:
        return f"The {field} is longer than {MAX_URL_LENGTH} characters."
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        return f"The {field} must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return f"The {field} is not a valid URL."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"The {field} must be an absolute http(s) URL."
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return f"The {field} must use https (plain http is allowed only for localhost)."
    if parts.fragment or url.endswith("#"):
        return f"The {field} must not contain a fragment (#...)."
    if parts.username or parts.password:
        return f"The {field} must not contain a user name or password."
    return None


def validate_app_fields(
    *, name: str, application_url: str, redirect_uris: list[str], description: str = ""
) -> tuple[str, str, list[str], str]:
    errors: dict[str, str] = {}
    name = name.strip()
    if not name:
        errors["name"] = "The app needs a name."
    elif len(name) > 100:
        errors["name"] = "The name can be at most 100 characters."
    problem = check_app_url(application_url.strip(), "application URL")
    if problem:
        errors["application_url"] = problem
    cleaned = []
    for uri in redirect_uris:
        uri = uri.strip()
        if uri and uri not in cleaned:
            cleaned.append(uri)
    if not cleaned:
        errors["redirect_uris"] = "At least one redirect URL is required."
    elif len(cleaned) > MAX_REDIRECT_URIS:
        errors["redirect_uris"] = f"At most {MAX_REDIRECT_URIS} redirect URLs."
    else:
        for uri in cleaned:
            problem = check_app_url(uri, "redirect URL")
            if problem:
                errors["redirect_uris"] = f"{problem} ({uri[:100]})"
                break
    if len(description) > 2000:
        errors["description"] = "The description can be at most 2000 characters."
    if errors:
        raise ValidationError("The app was not saved.", fields=errors)
    return name, application_url.strip(), cleaned, description.strip()


def create_app(
    session: Session,
    client_secrets: ClientSecrets,
    *,
    partner_id: int,
    name: str,
    application_url: str,
    redirect_uris: list[str],
    description: str = "",
    verified: bool = False,
) -> tuple[App, str]:
    """Create an app; returns it and its client secret (shown once to the caller)."""
    name, application_url, redirect_uris, description = validate_app_fields(
        name=name, application_url=application_url, redirect_uris=redirect_uris, description=description
    )
    client_id, secret, encrypted = client_secrets.new_credentials()
    app = AppRepository(session).create(
        partner_id=partner_id,
        name=name,
        client_id=client_id,
        client_secret_encrypted=encrypted,
        application_url=application_url,
        redirect_uris=redirect_uris,
        description=description,
        status=AppStatus.VERIFIED if verified else AppStatus.DRAFT,
    )
    return app, secret
