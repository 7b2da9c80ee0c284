"""Repositories: every SQL statement of the platform lives in this package."""
