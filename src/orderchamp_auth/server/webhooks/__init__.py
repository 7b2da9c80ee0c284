"""Webhooks: topics, subscriptions, the transactional outbox, and the delivery worker.

``outbox.record_event`` is the one way a writer reports a change; ``worker.DeliveryWorker``
sends what it recorded, through ``sender.SafeSender``. A layer below the flow (``oauth``
records ``APP_UNINSTALLED``) and the API (its mutations record their events): it imports only
the store and the protocol. What an event says about an object is the API's own query result,
so the payloads are built above, in ``api/webhook_payloads.py``, and handed to ``record_event``.
"""
