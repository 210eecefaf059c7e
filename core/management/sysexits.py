"""The exit statuses of ``sysexits.h`` our commands use, which MTAs and scripts understand."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db import DatabaseError

EX_USAGE, EX_DATAERR, EX_NOINPUT, EX_TEMPFAIL, EX_CONFIG = 64, 65, 66, 75, 78


def database_unavailable(error: DatabaseError) -> CommandError:
    """75, with the first line of the driver's message: the caller should try again later."""
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return CommandError(f"cannot store the message now, try again later: {reason}", returncode=EX_TEMPFAIL)
