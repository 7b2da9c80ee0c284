"""The authorization flow, as functions over a database session that return values.

Nothing here builds an HTTP response; ``web`` renders what these return or raise.
"""
