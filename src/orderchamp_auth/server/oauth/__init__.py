"""The authorization flow, as functions that take the caller's transaction (``tx``, and the
repositories it carries) and return values.

Nothing here builds an HTTP response (``web`` renders what these return or raise), begins or
ends a transaction (the caller owns it: one per request, see ``web.units``), or holds SQL (the
repositories do).
"""
