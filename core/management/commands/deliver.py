"""``manage.py deliver --to ADDR < message.eml``: the MTA's pipe transport.

Exit statuses follow sysexits.h, which MTAs understand: 0 once the message
is stored; 75 (EX_TEMPFAIL: the MTA keeps the message and retries) when
the database cannot take it now; 65 (EX_DATAERR: the MTA bounces) for a
message we will never accept; 64 (EX_USAGE) and 78 (EX_CONFIG) for
mistakes in the transport's command line or our configuration.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.management.sysexits import EX_CONFIG, EX_DATAERR, EX_USAGE, database_unavailable


class Command(BaseCommand):
    help = "Store one message read from standard input for the given recipients, and queue its processing."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--to", action="append", default=[], metavar="ADDR", help="envelope recipient (repeat)")

    def handle(self, *args, **options) -> None:
        from core.mda.inbound import IntakeError, MessageTooLarge, check_recipients, max_size, receive
        from core.runtime.config import ConfigError

        try:
            limit = max_size()
        except ConfigError as error:
            raise CommandError(str(error), returncode=EX_CONFIG) from None
        try:
            recipients = check_recipients(options["to"])
        except IntakeError as error:
            raise CommandError(str(error), returncode=EX_USAGE) from None
        # One byte past the limit is enough to know it is too large.
        raw = sys.stdin.buffer.read(limit + 1)
        try:
            row = receive(raw, recipients, limit=limit)
        except MessageTooLarge:
            raise CommandError(
                f"the message is larger than the limit of {limit} bytes (INBOUND_MAX_SIZE)", returncode=EX_DATAERR
            ) from None
        except IntakeError as error:
            raise CommandError(str(error), returncode=EX_DATAERR) from None
        except DatabaseError as error:
            raise database_unavailable(error) from None
        self.stdout.write(f"stored inbound message {row.pk} for {', '.join(recipients)}")
