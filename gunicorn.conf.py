"""gunicorn's settings for the API: ``gunicorn listening.wsgi`` reads this file from the working
directory. Command-line flags override it (the benchmarks and fault tests pass their own)."""

import gc
import os
from typing import Any

# An API request is mostly Python (ORM rows, aggregation, serialization) between short database
# reads, so threads of one process queue on the GIL. One thread per process, and gunicorn's own
# rule for the number of processes: on 2 cores, 4 x 1 answered most dashboard endpoints with 10-20%
# more throughput than 2 x 4, and a lower p95 (docs/analytics.md). Each worker holds about 600 MB
# once the cleaning pipeline has loaded (docs/reliability.md): set WEB_CONCURRENCY where memory is
# short.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 60


def post_worker_init(worker: Any) -> None:
    """Load the URLconf (and with it every view, serializer and query module), then move all the
    objects that exist now out of the garbage collector's reach.

    They live as long as the process, yet every full collection walked them: one took 135-145 ms
    in an API process, a pause that landed on whichever requests were running. After the freeze,
    a full collection took about 4 ms (docs/analytics.md).
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imported for its side effect: the views load)
    gc.freeze()
