import subprocess
import sys

import orderchamp_auth.client as sdk


def test_all_exports_exactly_the_public_names_of_the_facade():
    public = {name for name in dir(sdk) if not name.startswith("_")}
    public -= {"annotations", "integrations"}  # the __future__ import, the optional subpackage
    assert set(sdk.__all__) == public
    assert len(sdk.__all__) == len(set(sdk.__all__))
    assert sdk.__all__ == sorted(sdk.__all__)


def test_every_exported_class_claims_the_facade_as_its_module():
    for name in sdk.__all__:
        member = getattr(sdk, name)
        module = getattr(member, "__module__", None)
        if module is not None and module.startswith("orderchamp_auth.client"):
            assert module == "orderchamp_auth.client", name


def test_the_facade_reexports_the_protocol_scope_types_unchanged():
    from orderchamp_auth.protocol.scopes import Scope, ScopeSet

    assert sdk.Scope is Scope
    assert sdk.ScopeSet is ScopeSet
    assert Scope.__module__ == "orderchamp_auth.protocol.scopes"


def test_every_sdk_error_descends_from_one_sdk_root_under_the_package_root():
    from orderchamp_auth.protocol.errors import OrderchampAuthError

    assert issubclass(sdk.OrderchampClientError, OrderchampAuthError)
    errors = [getattr(sdk, n) for n in sdk.__all__ if isinstance(getattr(sdk, n), type)]
    errors = [e for e in errors if issubclass(e, BaseException)]
    assert len(errors) >= 20
    assert all(issubclass(e, sdk.OrderchampClientError) for e in errors)


def test_importing_the_sdk_loads_neither_the_server_nor_its_libraries():
    code = (
        "import sys, orderchamp_auth.client\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'starlette', 'jinja2', 'graphql',"
        " 'alembic'} or m.startswith('orderchamp_auth.server')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
