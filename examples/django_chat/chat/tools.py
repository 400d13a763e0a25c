"""The model's tool: one whose arguments are long enough to watch them stream."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from agentools import Toolkit, function_tool

from .models import Note


class Notebook(Toolkit):
    """The tools of one conversation: the notes the model writes are saved with it."""

    def __init__(self, conversation_id: uuid.UUID) -> None:
        self.conversation_id = conversation_id

    @function_tool
    def write_note(self, title: str, body: str) -> dict[str, Any]:
        """Save a note for the user.

        Args:
            title: A short title.
            body: The whole note.
        """
        try:
            note = Note.objects.create(
                conversation_id=self.conversation_id, title=title[:200], body=body
            )
        finally:
            # agentools runs sync tools in worker threads; Django opens one connection per
            # thread and closes only those of request threads.
            connection.close()
        return {"saved": True, "note": note.pk, "words": len(body.split())}
