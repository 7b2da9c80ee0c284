import pytest

from orderchamp_auth.protocol.errors import ScopeError
from orderchamp_auth.protocol.scopes import Scope, ScopeSet


def test_comma_separated_list_parses_in_any_order_and_writes_in_table_order():
    scopes = ScopeSet.parse("products_read,account_read")
    assert scopes.to_string() == "account_read,products_read"
    assert list(scopes) == [Scope.ACCOUNT_READ, Scope.PRODUCTS_READ]


@pytest.mark.parametrize(
    "text",
    ["account_read products_read", "account_read, products_read", " account_read,,products_read ", "account_read\tproducts_read"],
)
def test_spaces_and_commas_both_separate(text):
    assert ScopeSet.parse(text).to_string() == "account_read,products_read"


def test_duplicates_are_dropped():
    assert ScopeSet.parse("orders_read,orders_read,orders_read").to_string() == "orders_read"


@pytest.mark.parametrize("text", ["products_raed", "admin", "PRODUCTS_READ", "products_read,write_all"])
def test_unknown_scope_is_refused(text):
    with pytest.raises(ScopeError):
        ScopeSet.parse(text)


def test_empty_list_parses_to_empty_set():
    assert not ScopeSet.parse("")
    assert not ScopeSet.parse(None)
    assert not ScopeSet.parse(" , ")


def test_write_implies_read():
    scopes = ScopeSet.parse("products_write")
    assert Scope.PRODUCTS_READ in scopes
    assert "products_read" in scopes
    assert Scope.ORDERS_READ not in scopes
    assert scopes.covers(["products_read", "products_write"])
    assert not scopes.covers(["orders_read"])


def test_read_does_not_imply_write():
    scopes = ScopeSet.parse("customers_read")
    assert Scope.CUSTOMERS_WRITE not in scopes
    assert scopes.missing(["customers_write"]).to_string() == "customers_write"


def test_canonical_order_follows_the_table_for_every_scope():
    reversed_text = ",".join(reversed([s.value for s in Scope]))
    assert ScopeSet.parse(reversed_text).to_string() == (
        "account_read,account_write,products_read,products_write,orders_read,orders_write,"
        "fulfillment_read,fulfillment_write,customers_read,customers_write"
    )


def test_normalized_drops_reads_implied_by_writes():
    assert ScopeSet.parse("orders_read,orders_write,account_read").normalized().to_string() == "account_read,orders_write"


def test_every_scope_has_a_description_and_resource():
    for scope in Scope:
        assert scope.description
        assert scope.resource.value in scope.value
