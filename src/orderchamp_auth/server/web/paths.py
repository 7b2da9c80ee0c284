"""Path parameters, parsed by the router: a path that does not fit is not found (404).

``{name:id}`` is a database id: ASCII digits only, no leading zero, within the int64 range the
databases store. (``str.isdigit`` and ``int`` also accept digits such as "²" or "١٢", and ``int``
has no upper bound, so they must not decide.) ``{name:client_id}`` is an app's public id: URL-safe
ASCII, bounded, so no control character or other oddity reaches a query.

The convertors are registered when this module is imported, which the route modules do before
they build their routes.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

INT64_MAX = 2**63 - 1


def _at_most(limit: int) -> str:
    """A regex for the decimal numbers 0..limit, written without leading zeros."""
    text = str(limit)
    forms = ["0", f"[1-9][0-9]{{0,{len(text) - 2}}}", text]
    for i, digit in enumerate(text):
        lowest = "1" if i == 0 else "0"
        if digit > lowest:
            forms.append(f"{text[:i]}[{lowest}-{int(digit) - 1}][0-9]{{{len(text) - i - 1}}}")
    return "(?:" + "|".join(forms) + ")"


class IdConvertor(Convertor[int]):
    regex = _at_most(INT64_MAX)

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        if not 0 <= int(value) <= INT64_MAX:
            raise ValueError("not a database id")
        return str(int(value))


class ClientIdConvertor(Convertor[str]):
    regex = "[A-Za-z0-9_-]{1,128}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("id", IdConvertor())
register_url_convertor("client_id", ClientIdConvertor())
