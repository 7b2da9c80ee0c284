"""End-to-end tests: the fixtures (a live server on loopback, a World) live in tests/conftest.py."""
