"""Prompts with images and audio, and tools that return them: what the model is sent, what the
history keeps (valid for the API, the same after a JSON round trip), under both runners."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from agentools import (
    Audio,
    History,
    Image,
    MisuseError,
    ToolResult,
    function_tool,
    validate_history,
)
from agentools.hooks import RecordingHooks
from agentools.testing import FakeOpenAIServer, ToolCallSpec, Turn

from .support import Bot, Runner

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
GIF = b"GIF89a" + b"\x00" * 24
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24
MP3 = b"ID3\x04\x00" + b"\x00" * 24


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_an_images_type_is_told_by_its_bytes(data: bytes, media_type: str) -> None:
    image = Image.from_bytes(data)
    assert image.url == data_url(media_type, data)
    assert image.media_type == media_type
    assert image.to_part() == {"type": "image_url", "image_url": {"url": image.url}}


def test_a_file_is_read_for_its_bytes_not_trusted_for_its_name(tmp_path: Path) -> None:
    lying = tmp_path / "photo.png"
    lying.write_bytes(JPEG)
    assert Image.from_path(lying).media_type == "image/jpeg"
    unknown = tmp_path / "scan.tiff"
    unknown.write_bytes(b"II*\x00" + b"\x00" * 8)
    assert Image.from_path(unknown).media_type == "image/tiff"  # from the name, as a last resort
    detailed = Image.from_path(lying, detail="low").to_part()
    assert detailed["image_url"]["detail"] == "low"


def test_bytes_that_are_no_known_image_need_their_type_said() -> None:
    with pytest.raises(MisuseError, match="media_type="):
        Image.from_bytes(b"plain text")
    assert Image.from_bytes(b"BM...", "image/bmp").media_type == "image/bmp"
    assert Image("https://example.com/a.png").media_type is None


def test_audio_is_wav_or_mp3_by_its_bytes(tmp_path: Path) -> None:
    assert Audio.from_bytes(WAV).to_part() == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"},
    }
    assert Audio.from_bytes(MP3).format == "mp3"
    path = tmp_path / "voice.mp3"
    path.write_bytes(b"\x00" * 8)  # no header to tell: the name says
    assert Audio.from_path(path).format == "mp3"
    assert Audio.from_bytes(WAV).as_bytes() == WAV
    with pytest.raises(MisuseError, match="format="):
        Audio.from_bytes(b"\x00" * 8)


def round_trips(history: History) -> None:
    sent = history.to_openai()
    assert validate_history(sent) == []
    assert History.from_json(history.to_json()).to_openai() == sent


def test_a_prompt_of_text_images_and_audio_is_sent_as_content_parts(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(Turn(text="A cat."))
    hooks = RecordingHooks()
    assistant = bot(hooks=hooks, stream=stream)
    file_part = {"type": "file", "file": {"file_id": "file-123"}}
    prompt: list[Any] = [
        "What is this?",
        Image.from_bytes(PNG),
        Image("https://example.com/cat.jpg", detail="high"),
        Audio.from_bytes(WAV),
        file_part,
    ]

    assert runner.run(assistant, prompt) == "A cat."

    parts = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": data_url("image/png", PNG)}},
        {
            "type": "image_url",
            "image_url": {"url": "https://example.com/cat.jpg", "detail": "high"},
        },
        {
            "type": "input_audio",
            "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"},
        },
        file_part,
    ]
    assert server.requests[0].messages == [{"role": "user", "content": parts}]
    assert hooks.args_of("on_response_start") == [(parts, "fake-model")]
    round_trips(assistant.history)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ([], "empty list"),
        (["a", 3], "piece 1 is a int"),
        ([{"text": "no type"}], "piece 0 is a dict"),
        ({"type": "text"}, "not dict"),
        ([{"type": "text", "text": "\ud800"}], "cannot be sent"),
    ],
)
def test_a_prompt_that_cannot_be_sent_is_refused_before_anything_is_sent(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, prompt: Any, message: str
) -> None:
    assistant = bot()
    with pytest.raises(MisuseError, match=message):
        runner.run(assistant, prompt)
    assert server.requests == []
    assert len(assistant.history) == 0


@function_tool
def screenshot(page: str) -> Image:
    """Take a screenshot of a page."""
    return Image.from_bytes(PNG)


@function_tool
def inspect_page(page: str) -> list[Any]:
    """Describe a page, with its picture."""
    return ["The page:", Image.from_bytes(JPEG), {"title": page}]


def test_images_returned_by_tools_follow_the_tool_messages_in_a_user_message(
    server: FakeOpenAIServer, bot: Bot, runner: Runner, stream: bool
) -> None:
    server.add(
        Turn(
            tool_calls=[
                ToolCallSpec(name="screenshot", arguments={"page": "home"}, id="call_a"),
                ToolCallSpec(name="inspect_page", arguments={"page": "about"}, id="call_b"),
            ]
        ),
        Turn(text="Both pages look fine."),
    )
    hooks = RecordingHooks()
    assistant = bot(tools=[screenshot, inspect_page], hooks=hooks, stream=stream)

    assert runner.run(assistant, "Check the pages") == "Both pages look fine."

    sent = server.requests[1].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "user"]
    assert sent[2] == {
        "role": "tool",
        "tool_call_id": "call_a",
        "content": "[image 1: in the user message after the tool results]",
    }
    assert sent[3]["content"] == (
        'The page:\n[image 1: in the user message after the tool results]\n{"title": "about"}'
    )
    assert sent[4]["content"] == [
        {"type": "text", "text": "Returned by screenshot (call call_a):"},
        {"type": "image_url", "image_url": {"url": data_url("image/png", PNG)}},
        {"type": "text", "text": "Returned by inspect_page (call call_b):"},
        {"type": "image_url", "image_url": {"url": data_url("image/jpeg", JPEG)}},
    ]
    results: list[ToolResult] = [result for _, result in hooks.args_of("on_tool_result")]
    assert sorted(len(result.parts) for result in results) == [1, 1]
    assert isinstance(next(r for r in results if r.call_id == "call_a").value, Image)
    round_trips(assistant.history)


def test_a_tool_returning_no_media_adds_no_message(
    server: FakeOpenAIServer, bot: Bot, runner: Runner
) -> None:
    @function_tool
    def plain() -> list[str]:
        """Plain."""
        return ["a", "b"]

    server.add(Turn(tool_calls=[ToolCallSpec(name="plain", arguments={})]), Turn(text="ok"))
    assistant = bot(tools=[plain])
    runner.run(assistant, "Go")
    assert [m["role"] for m in server.requests[1].messages] == ["user", "assistant", "tool"]
    assert server.requests[1].messages[2]["content"] == '["a", "b"]'
