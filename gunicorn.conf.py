"""gunicorn -c gunicorn.conf.py wsgi:app — production settings, overridable by environment."""

import os

bind = os.environ.get("WAPSHOP_BIND", "127.0.0.1:8000")
# Requests are short and mostly wait on the database: the usual 2 × cores + 1 sync workers,
# counting the cores this process may run on (a container or `taskset` may give it fewer).
workers = int(os.environ.get("WAPSHOP_WORKERS", len(os.sched_getaffinity(0)) * 2 + 1))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then so a slow leak never becomes an outage — rarely: a new worker
# costs ~1 s of CPU (importing and building the app) and starts with an empty page cache, so at
# 5,000 requests a busy worker (1,500 req/s on the catalogue) was rebuilt every 3 s and lost a
# fifth of the machine to it. Memory stays bounded without it (bench.memory: +3.4 MiB over
# 10,000 requests, every cache at its bound).
max_requests = 100_000
max_requests_jitter = 10_000
# Several servers may run side by side (tests, benchmarks): no shared control socket.
control_socket_disable = True
accesslog = os.environ.get("WAPSHOP_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s"'
# The request line holds the query string, and with it a live sid: this logger removes it
# (and the bank return's token) from every atom before the line is written.
logger_class = "wapshop.web.logs.AccessLogger"


def worker_exit(server, worker):
    """A worker stopping (graceful stop or restart, max_requests recycling) writes the funnel's
    page views it still holds; wapshop/web/pageviews.py's atexit handler is the second line."""
    app = getattr(worker, "wsgi", None)
    if app is not None and "pageviews" in getattr(app, "extensions", {}):
        from wapshop.web import pageviews

        pageviews.flush(app)
