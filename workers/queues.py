from __future__ import annotations

from enum import StrEnum


class Queue(StrEnum):
    """Queues by workload, so each is scaled by worker configuration, not code."""

    INGEST = "ingest"  # connector pulls, pushes, imports: I/O bound
    ENRICH = "enrich"  # the language model reading mentions: GPU hosts
    ANALYZE = "analyze"  # POST /analyze answers a waiting client: never queued behind batch enrichment
    TRAIN = "train"  # fine-tuning cycles: one GPU host, concurrency 1
    ALERTS = "alerts"  # spike checks and webhook deliveries
    REPORTS = "reports"  # scheduled reports, nightly clustering
    MAINTENANCE = "maintenance"  # heartbeats, housekeeping


ALL_QUEUES = ",".join(queue.value for queue in Queue)
