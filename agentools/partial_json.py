r"""Incremental parsing of JSON text that arrives in chunks.

While a model streams a tool call's ``arguments`` a user interface wants the value parsed so
far after every chunk. Re-parsing the whole prefix each time (what the OpenAI SDK does with
jiter) costs O(n) per chunk, O(n²) per document. :class:`PartialJSONParser` instead keeps its
place between chunks, so each :meth:`~PartialJSONParser.feed` costs time proportional to the
chunk (see Cost below).

>>> p = PartialJSONParser()
>>> p.feed('{"path": "a.py", "content": "hel')
>>> p.value
{'path': 'a.py', 'content': 'hel'}
>>> p.is_complete("path"), p.is_complete("content")
(True, False)
>>> p.feed('lo\\n"}')
>>> p.value, p.done
({'path': 'a.py', 'content': 'hello\n'}, True)

What the snapshot shows
-----------------------
The snapshot holds only what later text can no longer take back, except that a string value
being read shows the characters read so far:

>>> parse_partial('{"a": "hel')
{'a': 'hel'}

- An unfinished key does not appear, nor does a key whose value has not started:

  >>> parse_partial('{"a": 1, "b')
  {'a': 1}
  >>> parse_partial('{"a":')
  {}

- Arrays and objects appear as soon as they open, and fill in place:

  >>> parse_partial('{"a": [')
  {'a': []}
  >>> parse_partial('[{"x": [1, {')
  [{'x': [1, {}]}]

- A number appears only once the character after it shows that it has ended: ``[1`` may still
  become ``[12]``. The same holds for ``true``, ``false`` and ``null`` until they are whole:

  >>> parse_partial('[1'), parse_partial('[12,'), parse_partial('[1.'), parse_partial('[1e+')
  ([], [12], [], [])
  >>> parse_partial('[tru'), parse_partial('[true'), parse_partial('[nul'), parse_partial('[-')
  ([], [True], [], [])

- A number at the top level has nothing after it, so it becomes final only on whitespace or
  :meth:`~PartialJSONParser.close`. Before anything is known the value is :data:`MISSING`:

  >>> parse_partial('12'), parse_partial('12 '), parse_partial('12', final=True)
  (MISSING, 12, 12)
  >>> parse_partial(''), parse_partial('  "')
  (MISSING, '')

- Escapes, ``\uXXXX`` and surrogate pairs decode correctly wherever the chunks split them; a
  lone surrogate is kept as it is, as :func:`json.loads` does. A high surrogate waiting for its
  partner is held back, so the snapshot never shows half of a pair:

  >>> p = PartialJSONParser()
  >>> for chunk in ['"\\', 'ud83d', '\\u', 'de0', '0 \\', 'n"']:
  ...     p.feed(chunk)
  ...     print(repr(p.value))
  ''
  ''
  ''
  ''
  '😀 '
  '😀 \n'
  >>> parse_partial('"\\udc00x"', final=True) == '\udc00x'
  True

- Duplicate keys: the last one wins, as with :func:`json.loads`. Until the repeated member's
  new value starts, the snapshot still shows the old one.

- ``NaN``, ``Infinity`` and ``-Infinity`` are rejected: :func:`json.loads` accepts them, but they
  are not JSON and no model API sends them.

- Integers longer than Python's ``int`` conversion limit (:func:`sys.set_int_max_str_digits`,
  4300 digits by default) are rejected with :class:`PartialJSONError`.

- Arrays and objects may nest :data:`MAX_JSON_DEPTH` (100) levels deep; the bracket that opens
  one more level is an error (``validate_history`` holds tool arguments to the same limit):

  >>> parse_partial("[" * 101)
  Traceback (most recent call last):
  ...
  agentools.partial_json.PartialJSONError: nested deeper than 100 levels at position 100

Completeness
------------
:meth:`PartialJSONParser.is_complete` tells whether the member or item at a path is finished,
so that a preview can act on finished fields only (open the file once ``path`` is complete,
say). ``()`` is the whole document; keys are ``str``, array indices non-negative ``int``.

>>> p = PartialJSONParser()
>>> p.feed('{"files": [{"name": "a"}, {"name": "b')
>>> p.is_complete("files", 0), p.is_complete("files", 1), p.is_complete("files", 1, "name")
(True, False, False)
>>> p.is_complete("files"), p.is_complete(), p.is_complete("nope")
(False, False, False)

Errors
------
Invalid input raises :class:`PartialJSONError` (a :class:`ValueError`) at the first character
that can never be part of valid JSON, with its offset in the whole input; no other exception
type escapes for any text. After an error every call to ``feed`` and ``close`` raises it again.
Whitespace is allowed wherever JSON allows it; anything else after the document is an error.
``close()`` on an incomplete document (an empty one included, as :func:`json.loads` does)
raises with the position at the end of the input.

>>> parse_partial('{"a": 1 2')
Traceback (most recent call last):
...
agentools.partial_json.PartialJSONError: expected ',' or '}' at position 8
>>> parse_partial('[1, 2', final=True)
Traceback (most recent call last):
...
agentools.partial_json.PartialJSONError: unexpected end of input at position 5

The snapshot is live
--------------------
:attr:`~PartialJSONParser.value` returns the parser's own objects, not a copy: later chunks
extend the same lists and dicts in place (copying the whole value on every chunk would make
the work quadratic again). Use :func:`copy.deepcopy` to keep a frozen snapshot. Python strings
are immutable, so a string still being read is replaced in its parent container instead.

Cost
----
``feed`` does work proportional to the chunk (amortised), so reading the value after every
chunk costs time linear in the document. It never reads earlier text again, except the first
characters (at most 64) of a number cut by the end of a chunk.

:attr:`~PartialJSONParser.value` is a plain attribute that ``feed`` keeps up to date: reading
it costs an attribute read. Containers are updated as soon as their items are known, and the
string value being read is extended as each chunk arrives, by ``s += text`` with no other
reference to ``s`` alive, which CPython performs in place, in amortised O(len(text)). If the
caller holds on to the in-progress string itself (or hashes it), or on another Python
implementation, the append copies the string, so each chunk costs O(len(string)): still
correct, but quadratic over one long string.

The usual chunk, in the middle of a long string, costs the method call, three C-level tests (no
quote, no backslash, no control character) and that append. The usual escapes (``\n``, ``\t``
and ``\"``) are replaced with :meth:`str.replace`, others decoded by the C decoder of the
:mod:`json` module; structural text is read by one loop over its tokens, with whole strings and
numbers read by json's C scanner.

A chunk of string text with escapes is decoded once per parser: the parser remembers the
decoding of up to 1024 such chunks of up to 32 characters (at most about 250 KB).
A model sends tokens from a fixed vocabulary, so the same ones (a newline and the indentation
after it, an escaped quote) come back all the time; a chunk seen before costs a dict look-up.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]
from typing import Any, Final, NoReturn, cast

from ._errors import AgentoolsError

__all__ = ["MAX_JSON_DEPTH", "MISSING", "PartialJSONError", "PartialJSONParser", "parse_partial"]

# Past this depth, JSON stops being portable: Ruby's json refuses more than 100 levels by default,
# Rust's serde_json (behind many OpenAI-compatible servers) 127, jiter (the openai SDK's and
# pydantic's parser) 201, and Python's own json, repr and copy.deepcopy recurse once or more per
# level, so they fail near sys.getrecursionlimit() (1000) less the stack already in use. A request
# body adds 2 levels around a message and its content parts. No tool's arguments nest anywhere
# near this: it only ever stops a model (or a history) gone wrong, before something else crashes.
MAX_JSON_DEPTH: Final = 100
"""How many levels of arrays and objects JSON may nest: in a tool call's arguments, as the
incremental parser reads them (deeper is a :class:`PartialJSONError`), and in a history's
messages and their arguments, as ``validate_history`` checks them."""


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""The value before anything of it is known (no input yet, or a top-level number or literal
that may still change). A sentinel rather than ``None``, which is a JSON value."""


class PartialJSONError(AgentoolsError, ValueError):
    """The input can never become valid JSON.

    ``pos`` is the offset, in characters from the start of the whole input (all chunks), of the
    first character that cannot be part of valid JSON; ``msg`` says what was expected there.
    """

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg, pos)
        self.msg = msg
        self.pos = pos

    def __str__(self) -> str:
        return f"{self.msg} at position {self.pos}"


# Parser states: what the next character may be. The order allows range tests in _run.
_VALUE = 0  # a value (top level, after ':', after ',' in an array)
_VALUE_OR_CLOSE = 1  # just after '['
_KEY = 2  # after ',' in an object
_KEY_OR_CLOSE = 3  # just after '{'
_AFTER_MEMBER = 4  # after an object member: ',' or '}'
_AFTER_ITEM = 5  # after an array item: ',' or ']'
_COLON = 6
_NUMBER = 7
_LITERAL = 8  # inside true, false or null
_DONE = 9  # the top-level value is complete: only whitespace may follow
_KEY_STRING = 10  # inside a key
_STRING = 11  # inside a string value
_ESCAPE = 12  # inside an escape sequence of a string (a key if _is_key)
_ERROR = 13

# Number sub-states, after: nothing, '-', a leading '0', integer digits, '.', fraction digits,
# 'e', the exponent's sign, exponent digits.
_N_START, _N_MINUS, _N_ZERO, _N_INT, _N_DOT, _N_FRAC, _N_E, _N_ESIGN, _N_EXP = range(9)
_N_ACCEPTING = frozenset((_N_ZERO, _N_INT, _N_FRAC, _N_EXP))
_N_AFTER_DIGITS = (_N_INT, _N_INT, _N_ZERO, _N_INT, _N_FRAC, _N_FRAC, _N_EXP, _N_EXP, _N_EXP)

# These patterns match the empty string, so their match() never returns None.
_AlwaysMatch = Callable[[str, int], "re.Match[str]"]
_match_ws = cast(_AlwaysMatch, re.compile(r"[ \t\n\r]*").match)
_match_str_run = cast(_AlwaysMatch, re.compile(r'[^"\\\x00-\x1f]*').match)
_match_digits = cast(_AlwaysMatch, re.compile(r"[0-9]*").match)
# A whole key, and the colon after it if it is there.
_match_key = re.compile(r'"([^"\\\x00-\x1f]*)"(?:[ \t\n\r]*(:)[ \t\n\r]*)?').match


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


# json's decoders (in C on CPython), the quickest way to read a few characters:
# _scanstring(text, end) decodes string content from text[end] to the closing quote, returning
# (decoded, the index after the quote); _scan_once(text, pos) reads the JSON value at text[pos]
# (used for numbers and whole strings), returning (value, the index after it). Both raise
# ValueError (JSONDecodeError) on invalid text, _scan_once StopIteration if no value starts at
# pos. They report errors with json.decoder.JSONDecodeError, which _json finds only if
# json.decoder has been imported: it has, here.
_scan_once = cast(
    Callable[[str, int], "tuple[Any, int]"],
    json.JSONDecoder(parse_constant=_reject_constant).scan_once,  # type: ignore[attr-defined]
)

_WS: Final = " \t\n\r"
_NUMBER_START: Final = "-0123456789"
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_SIMPLE_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
# Bounds of PartialJSONParser._decoded: how long a chunk it remembers, and how many.
_DECODED_MAX_CHARS: Final = 32
_DECODED_MAX_ENTRIES: Final = 1024
_LITERALS: Final[dict[str, tuple[str, Any]]] = {
    "t": ("true", True),
    "f": ("false", False),
    "n": ("null", None),
}


class _TopLevelString:
    """The container of a top-level string being read: its item is the parser's value.

    A string value is extended in place in its container (see :meth:`PartialJSONParser.feed`);
    at the top level that "container" is the parser's ``value`` attribute, and ``_root`` is
    kept equal to it.
    """

    __slots__ = ("_parser",)

    def __init__(self, parser: PartialJSONParser) -> None:
        self._parser = parser

    def __getitem__(self, key: object) -> Any:
        return self._parser.value

    def __setitem__(self, key: object, value: Any) -> None:
        parser = self._parser
        parser.value = value
        parser._root[0] = value


class PartialJSONParser:
    """Parse one JSON document fed in chunks, exposing the value read so far.

    See the module documentation for what :attr:`value` shows while the document is incomplete.
    A parser reads one document; make a new one for the next.
    """

    __slots__ = {
        "_after": "the state once the value being read is complete",
        "_decoded": "escaped string chunks read before: text -> (decoded, ends in a backslash)",
        "_error": "the error raised, raised again by later calls",
        "_esc": "the escape read so far, after its backslash",
        "_is_key": "the string being read, or its escape, is a key",
        "_key_parts": "pieces of the key being read, in this chunk (the rest is in _keys[-1])",
        "_keys": "per open container: the key of the member being read",
        "_literal": "the literal being read",
        "_literal_i": "how many of its characters have been read",
        "_num_parts": "the text of the number being read, as pieces",
        "_num_start": "the number's offset in the whole input",
        "_num_state": "where in the number grammar it is",
        "_offset": "characters fed before the current chunk (in a string value: see _slen)",
        "_parts": "decoded pieces of the string value being read, not yet in it",
        "_root": "holds the top-level value, so that it is put like an array item",
        "_sc": "the container of the string value being read",
        "_sk": "its key or index in that container",
        "_slen": "in a string value, the input read is _offset + len(the string) - _slen",
        "_stack": "the open containers, innermost last, _root first",
        "_state": "what the next character may be: _VALUE, _KEY, ... (see their definitions)",
        "value": "The value read so far: a live structure that later chunks extend (see the "
        "module documentation). :data:`MISSING` until something of the top-level value is "
        "known. A plain attribute, kept up to date by :meth:`feed`: read it, do not assign it.",
    }

    value: Any

    def __init__(self) -> None:
        self.value = MISSING
        self._state = _VALUE
        self._after = _DONE
        self._root: list[Any] = []
        self._stack: list[Any] = [self._root]
        self._keys: list[str] = [""]
        self._parts: list[str] = []
        self._key_parts: list[str] = []
        self._decoded: dict[str, tuple[str, bool]] = {}
        self._sc: Any = self._root
        self._sk: Any = -1
        self._slen = 0
        self._is_key = False
        self._esc = ""
        self._literal = ""
        self._literal_i = 0
        self._num_parts: list[str] = []
        self._num_state = _N_START
        self._num_start = 0
        self._offset = 0
        self._error: PartialJSONError | None = None

    def feed(self, chunk: str) -> None:
        """Read the next piece of the input; raises :class:`PartialJSONError` if it is invalid."""
        state = self._state
        if state == _STRING:
            # The middle of a long string value, where a streamed argument spends its time. The
            # chunk is appended in place (nothing else refers to s once its container lets go of
            # it). The offset is not updated: the string's length keeps count (see _slen).
            if '"' not in chunk:
                if "\\" not in chunk and chunk.isprintable():
                    container = self._sc
                    key = self._sk
                    s = container[key]
                    container[key] = None
                    s += chunk
                    container[key] = s
                    return
            elif "\\" not in chunk:
                head, _, rest = chunk.partition('"')
                if head.isprintable():  # the closing quote, after plain text
                    after = self._close_string(head)
                    if not rest or ((rest == ", " or rest == ",") and after != _DONE):
                        # Nothing more, or the usual separator: no need for the machine.
                        self._offset += len(chunk)
                        if rest:
                            after = _KEY if after == _AFTER_MEMBER else _VALUE
                        self._state = after
                    else:
                        self._state = after
                        self._run(chunk, len(head) + 1)
                    return
            text = chunk
        elif state == _ESCAPE and not self._esc and not self._is_key:
            text = "\\" + chunk  # the backslash that ended the last chunk, and what it escapes
        elif state == _KEY_STRING and "\\" not in chunk:
            # A key cut by the end of the last chunk: more of it, or its end and usually ': '.
            head, quote, rest = chunk.partition('"')
            if not head.isprintable():  # a control character: the machine says where
                self._run(chunk, 0)
                return
            self._keys[-1] += head
            if not quote:
                self._offset += len(chunk)
            elif not rest or rest == ": " or rest == ":":
                self._offset += len(chunk)
                self._state = _VALUE if rest else _COLON
            else:
                self._state = _COLON
                self._run(chunk, len(head) + 1)
            return
        else:
            self._run(chunk, 0)
            return
        # String content with escapes (or after a backslash that ended the last chunk), in a
        # string that goes on. Model streams send tokens from a fixed vocabulary, so the same
        # escaped chunks come again and again ("\\n    ", "\\\"", ...): their decoding is kept.
        known = self._decoded.get(text)
        if known is None:
            known = self._decode_escaped(chunk, text, state)
            if known is None:  # the string ended, or the machine read the chunk
                return
        decoded, pending = known
        # Written out, as in _string_chunk: a method call here costs 2 to 4% of a long string.
        container = self._sc
        key = self._sk
        s = container[key]
        container[key] = None
        s += decoded
        container[key] = s
        self._slen += len(decoded) - len(chunk)
        if pending:
            self._state = _ESCAPE
            self._esc = ""
        elif state == _ESCAPE:
            self._state = _STRING

    def _decode_escaped(self, chunk: str, text: str, state: int) -> tuple[str, bool] | None:
        """Decode ``text``, string content with escapes, for :meth:`feed`.

        ``text`` is ``chunk``, or ``chunk`` after the backslash that ended the last chunk.
        Returns the decoded text and whether a backslash at its end waits for the next chunk,
        and remembers them in ``_decoded`` (bounded), if the string goes on after ``text``;
        otherwise reads the chunk (the closing quote, a ``\\u`` escape, a control character)
        and returns None.
        """
        key_text = text
        # A backslash at the end escapes what comes next: it waits for the next chunk.
        pending = text[-1] == "\\" and (
            len(text) == 1 or text[-2] != "\\" or (len(text) - len(text.rstrip("\\"))) & 1
        )
        if pending:
            text = text[:-1]
        # The usual escapes, \n, \t and \", are replaced directly: quicker than json's decoder
        # for a few characters. If a backslash is left (another escape, or a backslash that
        # was escaped), or a quote is not escaped (the string ends here), json's decoder reads
        # the text, and \uXXXX escapes (which may be cut short, or pair across chunks) and
        # errors are left to the state machine.
        decoded: str | None = text
        if not text.isprintable():
            decoded = None
        elif '"' in text:
            bare = text.replace('\\"', "")
            decoded = None if '"' in bare else text.replace('\\"', '"')
        if decoded is not None and "\\" in decoded:
            if "\\n" in decoded:
                decoded = decoded.replace("\\n", "\n")
            if "\\t" in decoded:
                decoded = decoded.replace("\\t", "\t")
            if "\\" in decoded:
                decoded = None
        if decoded is None:
            if "\\u" in text:
                self._run(chunk, 0)
                return None
            try:
                decoded, end = _scanstring(text + '"', 0)
            except ValueError:  # a control character: the state machine says where
                self._run(chunk, 0)
                return None
            if end <= len(text):  # the string ends at end - 1
                self._state = self._close_string(decoded)
                self._run(chunk, end if state == _STRING else end - 1)  # (not 0)
                return None
        known = (decoded, bool(pending))
        if len(key_text) <= _DECODED_MAX_CHARS and len(self._decoded) < _DECODED_MAX_ENTRIES:
            self._decoded[key_text] = known
        return known

    def _run(self, text: str, pos: int) -> None:
        """Read ``text[pos:]``, the rest of the chunk ``text``: what feed's fast paths leave.

        ``_offset`` is the offset of the chunk, or, for a chunk that starts in a string value
        (``pos`` 0), brought up to date by ``_string_chunk``. At the end ``_offset``, ``_slen``
        and the string value being read are up to date.
        """
        state = self._state
        if state >= _STRING and not pos:
            if state == _ERROR:
                self._raise_again()
            pos = self._string_chunk(text)
            if pos < 0:
                return
            state = self._state
        # The state machine. Structural tokens are handled here, with the state, the stack and
        # the innermost container in local variables; the rarer states have handlers of their
        # own, which find self._state up to date and set it. self._after is kept up to date.
        n = len(text)
        stack = self._stack
        keys = self._keys
        top = stack[-1]
        after = self._after
        while pos < n:
            c = text[pos]
            if state <= _VALUE_OR_CLOSE:
                if c == '"':
                    rest = text[pos + 1 :]
                    if '"' in rest and "\\" not in rest:  # the whole string, as json reads it
                        try:
                            value, end = _scan_once(text, pos)
                        except ValueError:  # a control character
                            end = -1
                    else:
                        end = -1
                    if end < 0:  # put what there is, and extend it in place from now on
                        if '"' not in rest and "\\" not in rest and rest.isprintable():
                            value = rest
                            pos = n
                        else:
                            end = _match_str_run(text, pos + 1).end()
                            value = text[pos + 1 : end]
                            pos = end
                        if after == _AFTER_MEMBER:
                            key = keys[-1]
                            top[key] = value
                            self._sc = top
                            self._sk = key
                        elif after == _AFTER_ITEM:
                            top.append(value)
                            self._sc = top
                            self._sk = -1
                        else:
                            self._put(value)
                            self._sc = _TopLevelString(self)
                            self._sk = 0
                        self._is_key = False
                        state = _STRING
                        continue
                    pos = end
                elif c in _NUMBER_START:
                    try:
                        value, end = _scan_once(text, pos)
                    except (ValueError, StopIteration):  # "-", "-x", too long, -Infinity
                        end = -1
                    if end == n:  # a number so far, that the next chunk may extend
                        self._num_start = self._offset + pos
                        if type(value) is int:
                            self._num_state = _N_INT if value else _N_ZERO  # (0 is "0", "-0")
                            value = text[pos:] if pos else text
                        else:
                            value = text[pos:] if pos else text
                            self._num_state = _N_EXP if "e" in value or "E" in value else _N_FRAC
                        self._num_parts.append(value)
                        state = _NUMBER
                        break
                    if end < 0 or text[end] in ".eE":  # cut short (or invalid): the grammar
                        self._num_start = self._offset + pos
                        self._num_state = _N_START
                        self._state = _NUMBER
                        pos = self._on_number(text, pos)
                        state = self._state
                        continue
                    pos = end
                elif c == "{" or c == "[":
                    if len(stack) > MAX_JSON_DEPTH:  # (the root is on the stack too)
                        self._fail(pos, f"nested deeper than {MAX_JSON_DEPTH} levels")
                    value = {} if c == "{" else []
                    if after == _AFTER_MEMBER:
                        top[keys[-1]] = value
                    elif after == _AFTER_ITEM:
                        top.append(value)
                    else:
                        self._put(value)
                    stack.append(value)
                    keys.append("")
                    top = value
                    if c == "{":
                        after = self._after = _AFTER_MEMBER
                        state = _KEY_OR_CLOSE
                    else:
                        after = self._after = _AFTER_ITEM
                        state = _VALUE_OR_CLOSE
                    pos += 1
                    continue
                elif c in _WS:
                    pos += 1
                    if pos < n and text[pos] in _WS:
                        pos = _match_ws(text, pos).end()
                    continue
                elif c in _LITERALS:
                    word, value = _LITERALS[c]
                    if not text.startswith(word, pos):
                        self._literal = word
                        self._literal_i = 1
                        state = _LITERAL
                        pos += 1
                        continue
                    pos += len(word)
                elif c == "]" and state == _VALUE_OR_CLOSE:
                    state = _AFTER_ITEM  # closed below
                    continue
                elif c in "NI":
                    self._fail(pos, "NaN and Infinity are not JSON")
                else:
                    self._fail(pos, "expected a value")
                # A complete scalar: put it in its container.
                if after == _AFTER_MEMBER:
                    top[keys[-1]] = value
                elif after == _AFTER_ITEM:
                    top.append(value)
                else:
                    self._put(value)
                state = after
            elif state <= _KEY_OR_CLOSE:
                if c == '"':
                    rest = text[pos + 1 :]
                    if '"' not in rest:  # the key goes on in the next chunk
                        self._is_key = True
                        state = _KEY_STRING
                        if "\\" not in rest and rest.isprintable():
                            keys[-1] = rest
                            break
                        keys[-1] = ""
                        pos += 1
                        continue  # the machine reads it
                    m = _match_key(text, pos)
                    if m is None:  # escapes: the machine reads it
                        self._is_key = True
                        state = _KEY_STRING
                        keys[-1] = ""
                        pos += 1
                        continue
                    keys[-1] = m.group(1)
                    pos = m.end()
                    state = _VALUE if m.lastindex == 2 else _COLON
                elif c in _WS:
                    pos += 1
                    if pos < n and text[pos] in _WS:
                        pos = _match_ws(text, pos).end()
                elif c == "}" and state == _KEY_OR_CLOSE:
                    state = _AFTER_MEMBER  # closed below
                elif state == _KEY_OR_CLOSE:
                    self._fail(pos, "expected '\"' or '}'")
                else:
                    self._fail(pos, "expected '\"'")
            elif state <= _AFTER_ITEM:
                if c == ",":
                    pos += 1
                    if pos < n and text[pos] == " ":
                        pos += 1
                    state = _KEY if state == _AFTER_MEMBER else _VALUE
                elif c == ("}" if state == _AFTER_MEMBER else "]"):
                    stack.pop()
                    keys.pop()
                    top = stack[-1]
                    if len(stack) == 1:
                        after = _DONE
                    elif type(top) is list:
                        after = _AFTER_ITEM
                    else:
                        after = _AFTER_MEMBER
                    self._after = state = after
                    pos += 1
                elif c in _WS:
                    pos += 1
                    if pos < n and text[pos] in _WS:
                        pos = _match_ws(text, pos).end()
                elif state == _AFTER_MEMBER:
                    self._fail(pos, "expected ',' or '}'")
                else:
                    self._fail(pos, "expected ',' or ']'")
            elif state == _COLON:
                if c == ":":
                    pos += 1
                    if pos < n and text[pos] == " ":
                        pos += 1
                    state = _VALUE
                elif c in _WS:
                    pos += 1
                    if pos < n and text[pos] in _WS:
                        pos = _match_ws(text, pos).end()
                else:
                    self._fail(pos, "expected ':'")
            elif state == _NUMBER and (
                len(parts := self._num_parts) <= 8 and len(head := "".join(parts)) <= 64
            ):
                # A number cut by the end of the last chunk: read again whole by json's scanner,
                # quicker than following the grammar (and what is read again is bounded). If it
                # is not complete yet, or invalid, the grammar goes on from where it was.
                whole = head + text[pos:] if pos else head + text
                try:
                    value, end = _scan_once(whole, 0)
                except (ValueError, StopIteration):
                    end = -1
                k = len(head)
                if k <= end < len(whole) and whole[end] not in ".eE":
                    parts.clear()
                    pos += end - k
                    if after == _AFTER_MEMBER:
                        top[keys[-1]] = value
                    elif after == _AFTER_ITEM:
                        top.append(value)
                    else:
                        self._put(value)
                    state = after
                else:
                    self._state = state
                    pos = self._on_number(text, pos)
                    state = self._state
            else:
                self._state = state
                if state == _KEY_STRING:
                    pos = self._on_string(text, pos)
                elif state == _NUMBER:
                    pos = self._on_number(text, pos)
                elif state == _LITERAL:
                    pos = self._on_literal(text, pos)
                elif state == _DONE:
                    pos = self._on_done(text, pos)
                elif state == _STRING:
                    pos = self._on_string(text, pos)
                else:
                    pos = self._on_escape(text, pos)
                state = self._state
        self._state = state
        self._offset += n
        if state >= _KEY_STRING:  # in a string: what the machine read of it goes in place
            if self._key_parts:
                parts = self._key_parts
                keys[-1] += "".join(parts)
                parts.clear()
            elif state == _STRING or (state == _ESCAPE and not self._is_key):
                if self._parts:
                    self._flush_string()
                self._slen = len(self._sc[self._sk])

    def _string_chunk(self, chunk: str) -> int:
        """Read a chunk in a string value in the cases feed leaves (a ``\\u`` escape, maybe cut
        short or waiting for its low surrogate, a control character), with json's C decoder if
        it can.

        Returns -1 if it read all of the chunk, else where the state machine goes on (with
        ``_offset`` brought up to date): after the closing quote, or 0 to leave all of the chunk
        to the machine (an escape cut short or invalid, a control character, or a high
        surrogate at the end that may pair with the next chunk).
        """
        if self._state == _STRING:
            text = chunk
            shift = 0
        elif not self._is_key:
            # After a backslash, and maybe part of a \uXXXX escape or a high surrogate that
            # waits for its partner: the escape's text is read again with the chunk.
            esc = self._esc
            text = "\\" + esc + chunk
            shift = len(esc) + 1
        else:
            return 0
        # A backslash at the end escapes what comes next: it waits for the next chunk.
        pending = text[-1:] == "\\" and (len(text) - len(text.rstrip("\\"))) & 1
        if pending:
            text = text[:-1]
        u = text.rfind("\\u")
        end = 0
        if u < 0 or len(text) - u >= 6:  # no \uXXXX escape cut short
            try:
                decoded, end = _scanstring(text + '"', 0)
            except ValueError:
                end = 0
        container = self._sc
        key = self._sk
        if end > len(text):  # the string goes on
            # Unless it ends with a high surrogate that may pair with the next chunk.
            if u < 0 or not "\ud800" <= decoded[-1] <= "\udbff":
                s = container[key]
                container[key] = None
                s += decoded
                container[key] = s
                self._slen += len(decoded) - len(chunk)
                if pending:
                    self._state = _ESCAPE
                    self._esc = ""
                else:
                    self._state = _STRING
                return -1
            end = 0
        if not end:
            self._offset += len(container[key]) - self._slen  # the offset of the chunk
            return 0
        self._state = self._close_string(decoded)  # it ends at end - 1
        return end - shift

    @property
    def done(self) -> bool:
        """Whether a complete top-level value has been read."""
        return self._state == _DONE

    def close(self) -> Any:
        """Declare the end of the input and return the final value.

        A top-level number is complete only now. Raises :class:`PartialJSONError`, positioned at
        the end of the input, if the document is incomplete or empty. Calling it again returns
        the same value; whitespace may still be fed after it, anything else is extra data.
        """
        if self._state == _STRING or (self._state == _ESCAPE and not self._is_key):
            self._offset += len(self._sc[self._sk]) - self._slen
        elif self._state == _NUMBER and self._after == _DONE:
            if self._num_state in _N_ACCEPTING:
                self._finish_number("")
            else:
                self._fail(0, "incomplete number")
        if self._state == _ERROR:
            self._raise_again()
        if self._state != _DONE:
            self._fail(0, "unexpected end of input")
        return self.value

    def is_complete(self, *path: str | int) -> bool:
        """Whether the member or item at ``path`` has been read to its end.

        ``()`` is the whole document. False for anything not (yet) in the value.
        """
        stack = self._stack
        depth_open = len(stack) - 1
        node: Any = self._root
        on_open_path = True
        for depth, key in enumerate((0, *path)):
            if type(node) is dict:
                if type(key) is not str or key not in node:
                    return False
            elif type(node) is list:
                if type(key) is not int or not 0 <= key < len(node):
                    return False
            else:
                return False
            if on_open_path:
                on_open_path = depth <= depth_open and key == self._open_key(depth)
            node = node[key]
        return not on_open_path

    def _open_key(self, depth: int) -> str | int | None:
        """The key or index, in the container ``depth`` deep, of the child being read, if any."""
        stack = self._stack
        container = stack[depth]
        if depth < len(stack) - 1:
            return len(container) - 1 if type(container) is list else self._keys[depth]
        state = self._state
        in_string = state == _STRING or (state == _ESCAPE and not self._is_key)
        if type(container) is list:
            return len(container) - 1 if in_string else None
        if in_string or state in (_COLON, _VALUE, _NUMBER, _LITERAL):
            return self._keys[depth]
        return None

    # --- building the value -------------------------------------------------------------

    def _put(self, value: Any) -> None:
        after = self._after
        if after == _AFTER_MEMBER:
            self._stack[-1][self._keys[-1]] = value
        elif after == _AFTER_ITEM:
            self._stack[-1].append(value)
        else:
            self._root.append(value)
            self.value = value

    def _close_string(self, tail: str) -> int:
        """End the string value being read with ``tail``, its last decoded characters.

        For the fast paths that read a chunk starting in the string: ``_offset`` becomes the
        offset of the chunk. Returns the state after the string, for the caller to set.
        """
        container = self._sc
        key = self._sk
        s = container[key]
        self._offset += len(s) - self._slen
        container[key] = None
        s += tail  # in place in CPython: nothing else refers to s now
        container[key] = s
        after = self._after
        if after == _DONE:
            self._sc = self._root  # let go of the _TopLevelString
        return after

    def _flush_string(self) -> None:
        """Append the pending pieces to the string value being read, in its container."""
        parts = self._parts
        tail = "".join(parts)
        parts.clear()
        container = self._sc
        key = self._sk
        s = container[key]
        container[key] = None
        s += tail  # in place in CPython: nothing else refers to s now
        container[key] = s

    def _end_string(self) -> None:
        if self._is_key:
            parts = self._key_parts
            self._keys[-1] += "".join(parts)
            parts.clear()
            self._state = _COLON
        else:
            if self._parts:
                self._flush_string()
            after = self._after
            if after == _DONE:
                self._sc = self._root  # let go of the _TopLevelString
            self._state = after

    def _finish_number(self, tail: str) -> None:
        parts = self._num_parts
        parts.append(tail)
        text = "".join(parts)
        parts.clear()
        if self._num_state == _N_FRAC or self._num_state == _N_EXP:
            self._put(float(text))
        else:
            self._put(self._int(text, self._num_start - self._offset))
        self._state = self._after

    def _int(self, text: str, pos: int) -> int:
        try:
            return int(text)
        except ValueError:
            self._fail(pos, "integer too long to convert (see sys.set_int_max_str_digits)")

    # --- errors ---------------------------------------------------------------------------

    def _fail(self, pos: int, msg: str) -> NoReturn:
        """Raise at ``pos`` (in the current chunk) and stay failed."""
        if self._parts:  # what was valid before the error stays in the value
            self._flush_string()
        self._state = _ERROR
        self._error = PartialJSONError(msg, self._offset + pos)
        raise self._error

    def _raise_again(self) -> NoReturn:
        error = self._error
        assert error is not None
        raise PartialJSONError(error.msg, error.pos)

    # --- handlers of the rarer states: consume from text[pos], return where to go on ------

    def _on_number(self, text: str, pos: int) -> int:
        """Follow the number grammar; digit runs are consumed in one step."""
        n = len(text)
        st = self._num_state
        start = pos
        while pos < n:
            c = text[pos]
            if "0" <= c <= "9":
                if st == _N_ZERO:
                    break
                if c == "0" and st <= _N_MINUS:
                    st = _N_ZERO
                    pos += 1
                else:
                    st = _N_AFTER_DIGITS[st]
                    pos = _match_digits(text, pos + 1).end()
                continue
            if c == "." and st in (_N_INT, _N_ZERO):
                st = _N_DOT
            elif (c == "e" or c == "E") and st in (_N_INT, _N_ZERO, _N_FRAC):
                st = _N_E
            elif (c == "-" and st == _N_START) or ((c == "+" or c == "-") and st == _N_E):
                st = _N_MINUS if st == _N_START else _N_ESIGN
            else:
                break
            pos += 1
        self._num_state = st
        if pos == n:
            self._num_parts.append(text[start:])
            return n
        if st not in _N_ACCEPTING:
            self._fail(pos, "invalid number")
        self._finish_number(text[start:pos])
        return pos

    def _on_literal(self, text: str, pos: int) -> int:
        word = self._literal
        i = self._literal_i
        n = len(text)
        while i < len(word):
            if pos == n:
                self._literal_i = i
                return n
            if text[pos] != word[i]:
                self._fail(pos, f"invalid literal (expected {word!r})")
            i += 1
            pos += 1
        self._put(_LITERALS[word[0]][1])
        self._state = self._after
        return pos

    def _on_string(self, text: str, pos: int) -> int:
        n = len(text)
        parts = self._key_parts if self._is_key else self._parts
        while True:
            end = _match_str_run(text, pos).end()
            if end != pos:
                parts.append(text[pos:end])
            if end == n:
                return n
            c = text[end]
            if c == '"':
                self._end_string()
                return end + 1
            if c != "\\":
                self._fail(end, "invalid control character in string")
            if end + 1 < n and text[end + 1] in _SIMPLE_ESCAPES:
                parts.append(_SIMPLE_ESCAPES[text[end + 1]])
                pos = end + 2
                continue
            self._esc = ""
            self._state = _ESCAPE
            return end + 1

    def _on_escape(self, text: str, pos: int) -> int:
        r"""Decode an escape, one character at a time (it may be split across chunks).

        ``self._esc`` holds what follows the backslash: ``u`` and up to 4 hex digits, then for a
        high surrogate the ``\u`` and 4 hex digits of what may be its low surrogate.
        """
        n = len(text)
        esc = self._esc
        emit = (self._key_parts if self._is_key else self._parts).append
        string_state = _KEY_STRING if self._is_key else _STRING
        while pos < n:
            c = text[pos]
            k = len(esc)
            if k == 0:
                if c == "u":
                    esc = "u"
                    pos += 1
                    continue
                if c not in _SIMPLE_ESCAPES:
                    self._fail(pos, "invalid escape")
                emit(_SIMPLE_ESCAPES[c])
                self._state = string_state
                return pos + 1
            if k == 5 or k == 6:  # after a high surrogate: is a low one coming?
                if c == ("\\" if k == 5 else "u"):
                    esc += c
                    pos += 1
                    continue
                emit(chr(int(esc[1:5], 16)))
                if k == 5:
                    self._state = string_state
                    return pos
                esc = ""  # the backslash read starts an escape of its own
                continue
            if c not in _HEX:
                self._fail(pos, "invalid \\uXXXX escape")
            esc += c
            pos += 1
            if k == 4:
                code = int(esc[1:], 16)
                if not 0xD800 <= code <= 0xDBFF:
                    emit(chr(code))
                    self._state = string_state
                    return pos
            elif k == 10:
                high = int(esc[1:5], 16)
                low = int(esc[7:], 16)
                if 0xDC00 <= low <= 0xDFFF:
                    emit(chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)))
                    self._state = string_state
                    return pos
                emit(chr(high))
                if not 0xD800 <= low <= 0xDBFF:
                    emit(chr(low))
                    self._state = string_state
                    return pos
                esc = "u" + esc[7:]  # another high surrogate: look ahead again
        self._esc = esc
        return n

    def _on_done(self, text: str, pos: int) -> int:
        end = _match_ws(text, pos).end()
        if end < len(text):
            self._fail(end, "extra data after the JSON document")
        return end


def parse_partial(text: str, *, final: bool = False) -> Any:
    """Parse the JSON text received so far, as :attr:`PartialJSONParser.value` would show it.

    With ``final=True`` the text is the whole input: the result is the complete value (like
    :func:`json.loads`, without NaN or Infinity), or :class:`PartialJSONError` is raised.
    """
    parser = PartialJSONParser()
    parser.feed(text)
    return parser.close() if final else parser.value
