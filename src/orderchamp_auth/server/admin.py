"""Administrative operations shared by the CLI, the demo seed and the support pages."""

from __future__ import annotations

from .errors import ValidationError
from .oauth.passwords import MIN_PASSWORD_LENGTH, hash_password
from .store.models import Account, AccountType, User
from .store.transaction import Transaction


def check_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 320 or any(c.isspace() for c in email):
        raise ValidationError("That is not an email address.", fields={"email": "Enter a valid email address."})
    return email


def create_user(tx: Transaction, *, email: str, password: str, name: str = "", is_support: bool = False) -> User:
    email = check_email(email)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            "The password is too short.",
            fields={"password": f"Use at least {MIN_PASSWORD_LENGTH} characters."},
        )
    users = tx.users
    if users.get_by_email(email) is not None:
        raise ValidationError("A user with that email exists.", fields={"email": "This email is already in use."})
    return users.create(email=email, password_hash=hash_password(password), name=name, is_support=is_support)


def create_account(tx: Transaction, *, name: str, type: str = AccountType.SUPPLIER.value) -> Account:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError("The account needs a name of at most 200 characters.", fields={"name": "Required."})
    if type not in {t.value for t in AccountType}:
        raise ValidationError("The account type must be SUPPLIER or RETAILER.", fields={"type": "Unknown type."})
    return tx.accounts.create(name=name, type=type)
