"""orderchamp-auth: Orderchamp's API authentication system, platform and app-side SDK."""

__version__ = "0.1.0"
