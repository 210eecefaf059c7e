"""Database connections around messages, at a cost only to tasks that use them.

django_dramatiq's middleware calls ``close_old_connections()`` before and
after every message; that walks Django's connection handler (an asgiref
``Local``) each time, which we measured at about 10 % of the CPU a no-op
task costs.  Here a thread pays for it only once it has opened a
connection (Django's ``connection_created`` signal tells us), so mail
tasks that use the database get broken or expired connections replaced
around each message, and tasks that do not pay nothing.
"""

from __future__ import annotations

import threading

from django.db import close_old_connections, connections
from django.db.backends.signals import connection_created
from dramatiq import Broker
from dramatiq.middleware import Middleware


class DatabaseConnections(Middleware):
    def __init__(self) -> None:
        self._threads = threading.local()
        connection_created.connect(self._opened, weak=False)

    def _opened(self, sender, connection, **kwargs) -> None:
        self._threads.opened = True

    def _tidy(self, *args, **kwargs) -> None:
        if getattr(self._threads, "opened", False):
            close_old_connections()

    before_process_message = _tidy
    after_process_message = _tidy
    after_skip_message = _tidy

    def _close_all(self, broker: Broker, *args) -> None:
        connections.close_all()

    before_worker_thread_shutdown = _close_all
    before_consumer_thread_shutdown = _close_all
    before_worker_shutdown = _close_all
