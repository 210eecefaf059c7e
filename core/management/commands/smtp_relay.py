"""``manage.py smtp_relay``: the development SMTP relay (see ``core.mda.dev_relay``).

Point the worker at it (the default: ``SMTP_HOST`` unset means
127.0.0.1:2525) and the selfcheck works end to end on a laptop.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

EX_CONFIG = 78


class Command(BaseCommand):
    help = (
        "Development SMTP relay: mail for local mailboxes goes to inbound intake, the rest to "
        "--upstream (or is refused with 550). Runs until SIGTERM or Ctrl-C."
    )
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        from core.mda.outbound_settings import DEV_RELAY_HOST, DEV_RELAY_PORT

        parser.add_argument("--host", default=DEV_RELAY_HOST, help=f"address to listen on (default {DEV_RELAY_HOST})")
        parser.add_argument("--port", type=int, default=DEV_RELAY_PORT, help=f"port (default {DEV_RELAY_PORT})")
        parser.add_argument(
            "--upstream",
            metavar="HOST[:PORT]",
            default=None,
            help="relay for non-local recipients, plain SMTP (default: SMTP_RELAY_UPSTREAM; none: refuse them)",
        )

    def handle(self, *args, **options) -> None:
        from core.mda.dev_relay import build_relay, parse_upstream
        from core.mda.inbound import max_size
        from core.runtime.config import ConfigError
        from core.runtime.schema import describe_database, migrate

        value, source = options["upstream"], "--upstream"
        if value is None:
            value, source = os.environ.get("SMTP_RELAY_UPSTREAM", ""), "SMTP_RELAY_UPSTREAM"
        try:
            upstream = parse_upstream(value, source) if value.strip() else None
            limit = max_size()
        except ConfigError as error:
            raise CommandError(str(error), returncode=EX_CONFIG) from None
        try:
            migrate()
        except DatabaseError as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise CommandError(f"cannot prepare the database at {describe_database()}: {reason}") from None
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command at INFO
        host, port = options["host"], options["port"]
        try:
            controller = build_relay(host, port, upstream, limit)
            controller.start()
        except (OSError, TimeoutError) as error:
            reason = os.strerror(error.errno) if getattr(error, "errno", None) else str(error)
            raise CommandError(f"cannot listen on {host}:{port}: {reason}") from None
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        onward = f"others to {upstream.describe()}" if upstream else "others refused"
        self.stdout.write(f"smtp relay listening on {host}:{port}: local mailboxes to inbound intake, {onward}")
        self.stdout.flush()
        while not stop.wait(1.0):
            pass
        controller.stop()
        self.stdout.write("smtp relay stopped")
