"""Search indexing: where newly stored messages are handed over.

The search issue fills ``messages_stored`` (enqueue the index actor on the
``reindex`` queue); until then storing a message indexes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence


def messages_stored(message_ids: Sequence[int]) -> None:
    """Called once per delivery, after the messages are committed."""
