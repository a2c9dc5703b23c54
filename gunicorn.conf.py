"""gunicorn settings for the production profile (`make serve`, README "Running in production").

Sized for a 2-core host: 4 worker processes x 4 threads. Page rendering is CPU-bound Python
(one core per process at a time, the GIL), and a request spends part of its time waiting on
PostgreSQL, so two processes per core, each with a few threads, keep both cores busy without
piling up requests. Each worker has its own connection pool (shelter.database: 5 + 10
overflow), so 4 workers stay far below PostgreSQL's 100 connections. Override with
WEB_WORKERS / WEB_THREADS / BIND; on a bigger host: WEB_WORKERS = 2 x cores.

The scheduler does not run here (SCHEDULER_ENABLED stays 0): run one `flask scheduler`
process per city installation beside gunicorn."""
import os

wsgi_app = "shelter:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "4"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
# A proposal run solves for up to SOLVER_TIME_LIMIT seconds per rule; leave room for two.
timeout = int(os.environ.get("WEB_TIMEOUT", "90"))
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then (bounded memory), staggered
max_requests_jitter = 500
# The app writes one JSON line per request (shelter.requestlog); gunicorn's own access log
# would repeat it with client addresses, so it stays off. Errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = "info"
# Behind nginx on the same host: trust its X-Forwarded-Proto (https) and nothing else.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "shelter-web"
# gunicorn >= 24 opens a control socket in $HOME by default; one per host would collide
# when several instances run (tests, make load) and nothing here uses it.
control_socket_disable = True
