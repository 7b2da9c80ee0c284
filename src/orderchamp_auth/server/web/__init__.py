"""HTML pages and the OAuth HTTP endpoints."""
