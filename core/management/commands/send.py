"""``manage.py send --from ADDR --to ADDR --subject ... --text ...``: queue one outbound message.

Exit statuses follow sysexits.h like ``deliver``: 0 once the message is
stored and queued; 64 (EX_USAGE) for a bad address or option; 66
(EX_NOINPUT) for a file that cannot be read; 75 (EX_TEMPFAIL) when the
database cannot take it now.
"""

from __future__ import annotations

import mimetypes
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.management.sysexits import EX_NOINPUT, EX_USAGE, database_unavailable


def _read(path: str, what: str) -> bytes:
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {what} {path}: {error.strerror or error}", returncode=EX_NOINPUT) from None


def _text(path: str, what: str) -> str:
    try:
        return _read(path, what).decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{what} {path} is not UTF-8 text", returncode=EX_USAGE) from None


class Command(BaseCommand):
    help = "Build, store and queue one outbound message (sent by the worker's outbound queue)."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        # Checked in handle(), not by argparse, so a missing sender exits 64 like any bad address.
        parser.add_argument("--from", dest="sender", default="", metavar="ADDR", help="sender, e.g. 'Ann <a@b.org>'")
        for name in ("to", "cc", "bcc"):
            parser.add_argument(f"--{name}", action="append", default=[], metavar="ADDR", help=f"{name} (repeat)")
        parser.add_argument("--subject", default="")
        body = parser.add_mutually_exclusive_group()
        body.add_argument("--text", help="the plain-text body")
        body.add_argument("--text-file", metavar="PATH", help="read the plain-text body from PATH (- for stdin)")
        parser.add_argument("--html-file", metavar="PATH", help="an HTML alternative, read from PATH")
        parser.add_argument("--attach", action="append", default=[], metavar="PATH", help="attach a file (repeat)")

    def handle(self, *args, **options) -> None:
        from core.mda.outbound import OutboundError, send

        if not options["sender"].strip():
            raise CommandError("no sender: give --from ADDR", returncode=EX_USAGE)
        text = options["text"] or ""
        if options["text_file"]:
            text = _text(options["text_file"], "the text file")
        html = _text(options["html_file"], "the HTML file") if options["html_file"] else None
        attachments = [
            (Path(p).name, mimetypes.guess_type(p)[0] or "application/octet-stream", _read(p, "the attachment"))
            for p in options["attach"]
        ]
        try:
            row = send(
                options["sender"],
                options["to"],
                options["subject"],
                text,
                cc=options["cc"],
                bcc=options["bcc"],
                html=html,
                attachments=attachments,
            )
        except OutboundError as error:
            raise CommandError(str(error), returncode=EX_USAGE) from None
        except DatabaseError as error:
            raise database_unavailable(error) from None
        count = row.recipients.count()
        self.stdout.write(f"queued outbound message {row.pk} <{row.message_id}> for {count} recipient(s)")
