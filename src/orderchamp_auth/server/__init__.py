"""The platform: authorization server, back office, partner and support pages, GraphQL API.

Layers, top to bottom: ``web`` and ``api`` (HTTP) → ``oauth`` (the flow, as functions that
take a session and return values) → ``store`` (models, repositories, migrations). Only
``app.create_app`` wires concrete parts together.
"""
