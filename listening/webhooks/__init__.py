"""Outgoing webhooks (Standard Webhooks), a capability of their own as in Saleor's ``webhooks`` app.

* ``services.do_enqueue_event(organization_id, event_type, data, occurred_at=...)``: the one entry
  point for the rest of the domain (alerts call it for ``alert.fired``/``updated``/``resolved``).
* ``services.do_attempt_delivery(delivery_id)``: one attempt, run by the ``alerts.deliver`` task;
  ``queries.due_delivery_ids`` feeds the ``alerts.deliver_due`` re-scan.
* ``signing`` (HMAC signatures and secrets), ``transport`` (SSRF-safe HTTP, outcome, retry
  schedule), ``payloads`` (the event envelopes and the Slack variant) and ``secret_store``
  (secrets encrypted at rest) are Django-free, or nearly so, and tested on their own.

The models keep their tables in the ``alerts`` app's migrations (see ``models``).
"""
