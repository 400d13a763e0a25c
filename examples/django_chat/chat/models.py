"""A conversation is its history: the Chat Completions message list, stored as JSON.

``History.to_openai()`` is what the API takes and what any other client can read, so the row holds
exactly that; ``History.from_openai()`` reads it back (and refuses a list the API would not
accept, naming the bad message). agentools commits only whole units to a history (the prompt; an
assistant message with the answers to all its tool calls; the answer), so whatever is saved, even
after a failure or a client that left mid-stream, is a conversation the next request can
continue.
"""

from __future__ import annotations

import uuid

from django.db import models

from agentools import History


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    messages = models.JSONField(default=list)

    @property
    def history(self) -> History:
        return History.from_openai(self.messages)

    def keep(self, history: History) -> None:
        """Store ``history`` as this conversation's messages."""
        self.messages = history.to_openai()
        self.save(update_fields=["messages", "updated"])

    async def akeep(self, history: History) -> None:
        self.messages = history.to_openai()
        await self.asave(update_fields=["messages", "updated"])

    @property
    def title(self) -> str:
        """The first prompt, shortened, to name the conversation in the list."""
        for message in self.messages:
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                prompt: str = message["content"]
                return prompt if len(prompt) <= 60 else prompt[:59] + "…"
        return "(empty)"


class Note(models.Model):
    """What the model's ``write_note`` tool saved, with the conversation it belongs to."""

    conversation = models.ForeignKey(Conversation, related_name="notes", on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)
