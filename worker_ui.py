#!/usr/bin/env python
"""worker-ui: dramatiq-dashboard on the worker's broker (port 8903 by default).

    python worker_ui.py

Shows every queue with its waiting, delayed and dead-lettered messages,
and the workers.  Listens on 127.0.0.1 unless WORKER_UI_HOST says
otherwise; it has no authentication of its own, so put one in front of it
before binding it wider.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

DEFAULT_PORT = 8903


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        logging.getLogger("worker.ui").info("%s %s", self.address_string(), format % args)


def build_app():
    """The dashboard's WSGI app, knowing every queue of every task module."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    import django

    django.setup()
    from dramatiq_dashboard import DashboardApp

    from broker import broker
    from core.queues import QUEUE_NAMES
    from core.tasks import import_task_modules

    import_task_modules()
    for name in QUEUE_NAMES:  # queues with no actor yet are shown too
        broker.declare_queue(name)
    return DashboardApp(broker=broker, prefix="")


def main() -> int:
    host = os.environ.get("WORKER_UI_HOST") or "127.0.0.1"
    raw_port = os.environ.get("WORKER_UI_PORT") or str(DEFAULT_PORT)
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        print(f"error: WORKER_UI_PORT: {raw_port!r} is not a port number", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [worker-ui] %(message)s")
    import broker as broker_module

    try:
        broker_module.check_reachable()
    except Exception as error:  # noqa: BLE001 - any failure: one line, no traceback
        print(f"error: cannot reach Redis at {broker_module.describe_redis()}: {error}", file=sys.stderr)
        return 1
    try:
        server = make_server(host, int(raw_port), build_app(), _ThreadingServer, _QuietHandler)
    except OSError as error:
        print(f"error: cannot listen on {host}:{raw_port}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(
        f"worker-ui: http://{host}:{raw_port}/ (broker {broker_module.describe_redis()})", file=sys.stderr, flush=True
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
