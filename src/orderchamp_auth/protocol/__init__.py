"""The protocol core: scopes, signing, global IDs, tokens, PKCE and the error tree.

Standard library only. Both the platform (``orderchamp_auth.server``) and the app-side SDK
(``orderchamp_auth.client``) build on this package; it imports neither.
"""
