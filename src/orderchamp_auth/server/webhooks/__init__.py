"""Webhooks: subscriptions, the transactional outbox, payloads, and the delivery worker.

``outbox.record_event`` is the one way a writer reports a change; ``worker.DeliveryWorker``
sends what it recorded, through ``sender.SafeSender``.
"""
