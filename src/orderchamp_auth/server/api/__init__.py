"""The GraphQL API at ``{api path}/graphql``, opened by bearer tokens and guarded by scopes."""
