"""graphql-core's execution, for what plans do not cover (``plan.py``), with our two rules."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.execution import ExecutionContext
from graphql.pyutils import Path

from ..store.write_lock import is_lock_failure


class LockAwareExecutionContext(ExecutionContext):
    def handle_field_error(self, error: GraphQLError, return_type: Any, path: Path) -> None:
        if is_lock_failure(error.original_error):
            # A lock held past the bound fails the whole operation, not one field (the next
            # alias would wait as long again): the write rolls back, answered 503.
            raise error.original_error  # type: ignore[misc]
        super().handle_field_error(error, return_type, path)


def never_awaitable(_value: Any) -> bool:
    """Our resolvers are synchronous; skip graphql-core's awaitable check on every value."""
    return False
