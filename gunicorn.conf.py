"""gunicorn's settings for the API: ``gunicorn listening.wsgi`` reads this file from the working
directory. Command-line flags override it (the benchmarks and fault tests pass their own)."""

import os

# An API request is mostly Python (ORM rows, aggregation, serialization) between short database
# reads, so threads of one process queue on the GIL. One thread per process, and gunicorn's own
# rule for the number of processes: on 2 cores, 4 x 1 answered the dashboard endpoints with 15-25%
# more throughput and lower p95 than 2 x 4 (docs/analytics.md). Each worker holds about 600 MB once
# the cleaning pipeline has loaded (docs/reliability.md): set WEB_CONCURRENCY where memory is short.
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 60
