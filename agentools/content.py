"""Prompts with more than text, and tools that return images: ``Image``, ``Audio`` and the
content parts they become.

A prompt is a string, or a list of pieces: strings (text), ``Image`` and ``Audio`` objects, and
content-part dicts in the Chat Completions form, kept as they are::

    assistant.run(["What is on this receipt?", Image.from_path("receipt.jpg")])

A tool may return an ``Image`` or ``Audio`` (alone, or in a list with strings and other values).
The Chat Completions API takes only text in a tool message, so the tool message says where the
media went and a user message right after the tool messages carries it; both are ordinary
messages of the history (JSON, ``validate_history``).
"""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeAlias

import attrs

from ._converter import HistoryError, message_from_openai
from ._errors import MisuseError
from ._sendable import encodable
from .messages import ContentPart

__all__ = ["Audio", "Image", "Prompt", "WithMedia", "split_media", "user_content"]

Detail = Literal["auto", "low", "high"]

_IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),  # after "RIFF" and the length
)
"""The formats the vision models take, by their first bytes (what the file says it is, not its
name)."""


def _image_type(data: bytes) -> str | None:
    for signature, offset, media_type in _IMAGE_SIGNATURES:
        found = data[offset : offset + len(signature)] == signature
        if found and (media_type != "image/webp" or data.startswith(b"RIFF")):
            return media_type
    return None


def _audio_format(data: bytes) -> Literal["wav", "mp3"] | None:
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


@attrs.frozen
class Image:
    """An image the model is shown: ``url`` is an ``https:`` URL the provider fetches, or a
    ``data:`` URL carrying the bytes. ``detail`` ("low", "high", "auto") is the vision models'
    resolution setting, sent only when given."""

    url: str
    detail: Detail | None = attrs.field(default=None, kw_only=True)

    @classmethod
    def from_bytes(
        cls, data: bytes, media_type: str | None = None, *, detail: Detail | None = None
    ) -> Image:
        """The image in ``data`` (PNG, JPEG, GIF or WebP, told by its first bytes unless
        ``media_type`` says), as a data URL."""
        media_type = media_type or _image_type(data)
        if media_type is None:
            raise MisuseError(
                "not a PNG, JPEG, GIF or WebP image (by its first bytes): give media_type= if "
                "the model takes this format"
            )
        encoded = base64.b64encode(data).decode("ascii")
        return cls(f"data:{media_type};base64,{encoded}", detail=detail)

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        media_type: str | None = None,
        *,
        detail: Detail | None = None,
    ) -> Image:
        """The image in a file, as a data URL; its type from its bytes, else from its name."""
        data = Path(path).read_bytes()
        guessed = _image_type(data) or mimetypes.guess_type(os.fspath(path))[0]
        return cls.from_bytes(data, media_type or guessed, detail=detail)

    @property
    def media_type(self) -> str | None:
        """The type a data URL declares (``None`` for a URL the provider fetches)."""
        if not self.url.startswith("data:"):
            return None
        return self.url[5:].split(";", 1)[0].split(",", 1)[0] or None

    def to_part(self) -> ContentPart:
        image: dict[str, Any] = {"url": self.url}
        if self.detail is not None:
            image["detail"] = self.detail
        return {"type": "image_url", "image_url": image}

    def __repr__(self) -> str:
        shown = self.url if len(self.url) <= 60 else f"{self.url[:40]}...({len(self.url)} chars)"
        return f"Image({shown!r})"


@attrs.frozen
class Audio:
    """Audio the model hears (models that take ``input_audio``): ``data`` is base64, ``format``
    "wav" or "mp3"."""

    data: str = attrs.field(repr=lambda data: f"<{len(data)} base64 chars>")
    format: Literal["wav", "mp3"]

    @classmethod
    def from_bytes(cls, data: bytes, format: Literal["wav", "mp3"] | None = None) -> Audio:
        """WAV or MP3 bytes, the format told by their first bytes unless ``format`` says."""
        format = format or _audio_format(data)
        if format is None:
            raise MisuseError("not WAV or MP3 audio (by its first bytes): give format=")
        return cls(base64.b64encode(data).decode("ascii"), format)

    @classmethod
    def from_path(
        cls, path: str | os.PathLike[str], format: Literal["wav", "mp3"] | None = None
    ) -> Audio:
        data = Path(path).read_bytes()
        suffix = Path(path).suffix.lower().lstrip(".")
        named: Literal["wav", "mp3"] | None = (
            "wav" if suffix == "wav" else "mp3" if suffix == "mp3" else None
        )
        return cls.from_bytes(data, format or _audio_format(data) or named)

    def to_part(self) -> ContentPart:
        return {"type": "input_audio", "input_audio": {"data": self.data, "format": self.format}}

    def as_bytes(self) -> bytes:
        return base64.b64decode(self.data)


Piece: TypeAlias = "str | Image | Audio | ContentPart"
Prompt: TypeAlias = "str | Sequence[Piece]"
"""What ``run``, ``arun`` and the event streams take: a string, or a list of pieces."""


def user_content(prompt: object) -> str | list[ContentPart]:
    """A user message's content for ``prompt``: a string as it is, a list as content parts, in
    a form the API accepts. ``MisuseError`` says which piece cannot be one."""
    if isinstance(prompt, str):
        return encodable(prompt)  # else every request of the conversation would fail
    if not isinstance(prompt, (list, tuple)):
        raise MisuseError(
            f"the prompt must be a str or a list of str, Image, Audio and content-part dicts, "
            f"not {type(prompt).__name__}"
        )
    if not prompt:
        raise MisuseError("the prompt is an empty list: the model needs something to answer")
    parts: list[ContentPart] = []
    for index, piece in enumerate(prompt):
        if isinstance(piece, str):
            parts.append({"type": "text", "text": piece})
        elif isinstance(piece, (Image, Audio)):
            parts.append(piece.to_part())
        elif isinstance(piece, dict) and isinstance(piece.get("type"), str):
            parts.append(piece)
        else:
            raise MisuseError(
                f"prompt piece {index} is a {type(piece).__name__}: expected a str, an Image, "
                f"an Audio or a content-part dict with a 'type'"
            )
    try:
        message = message_from_openai({"role": "user", "content": parts})
    except HistoryError as error:
        raise MisuseError(f"the prompt cannot be sent: {error}") from None
    content: list[ContentPart] = message.content  # type: ignore[assignment]
    return content


class WithMedia:
    """A tool's value whose text already says where its images and audio are (``media``): its
    own ``str()`` goes in the tool message and the media in the user message after it. An MCP
    tool's result is one (``agentools.mcp.MCPResult``)."""

    media: tuple[Image | Audio, ...] = ()


def split_media(value: Any) -> tuple[Any, list[ContentPart]] | None:
    """For a tool's return value holding images or audio: the value with each replaced by a
    note for the tool message, and their content parts; ``None`` for a value that holds none."""
    if isinstance(value, WithMedia):
        if not value.media:
            return None
        return [str(value)], [item.to_part() for item in value.media]
    items = value if isinstance(value, (list, tuple)) else [value]
    if not any(isinstance(item, (Image, Audio)) for item in items):
        return None
    parts: list[ContentPart] = []
    kept: list[Any] = []
    for item in items:
        if isinstance(item, (Image, Audio)):
            parts.append(item.to_part())
            kind = "image" if isinstance(item, Image) else "audio"
            kept.append(f"[{kind} {len(parts)}: in the user message after the tool results]")
        else:
            kept.append(item)
    return kept, parts
