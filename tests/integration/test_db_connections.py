"""Database connections around messages, on the real database."""

import threading

from django.db import connection

from core.middleware.db_connections import DatabaseConnections


def test_an_unusable_connection_is_replaced_after_a_message(services, monkeypatch):
    middleware = DatabaseConnections()
    with connection.cursor() as cursor:  # a task used the database
        cursor.execute("SELECT 1")
    connection.errors_occurred = True  # and its connection broke
    monkeypatch.setattr(connection, "is_usable", lambda: False)

    middleware.after_process_message(None, None)

    assert connection.connection is None


def test_a_thread_that_never_used_the_database_is_left_alone(services):
    middleware = DatabaseConnections()
    seen = []

    def task():
        middleware.after_process_message(None, None)
        seen.append(getattr(middleware._threads, "opened", False))

    thread = threading.Thread(target=task)
    thread.start()
    thread.join()
    assert seen == [False]


def test_every_connection_is_closed_when_the_worker_shuts_down(services):
    middleware = DatabaseConnections()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    middleware.before_worker_shutdown(None, None)
    assert connection.connection is None
