"""Cost-based rate limits: Orderchamp's leaky bucket per app installation and account (and per
private token), kept in this process, in memory shared by the workers of one ``serve``, or in
Redis for many hosts. ``api/cost.py`` prices the queries; ``api/endpoint.py`` asks here."""
