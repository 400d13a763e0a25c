r"""Incremental parsing of JSON text that arrives in chunks.

While a model streams a tool call's ``arguments`` a user interface wants the value parsed so
far after every chunk. Re-parsing the whole prefix each time (what the OpenAI SDK does with
jiter) costs O(n) per chunk, O(n²) per document. :class:`PartialJSONParser` instead keeps its
place between chunks, so each :meth:`~PartialJSONParser.feed` costs time proportional to the
chunk and nothing already read is scanned again.

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
``feed`` does work proportional to the chunk (amortised) and never rescans earlier text. Runs of
plain characters, digits and whitespace are consumed with one compiled regular expression match
each, and string content with escapes is decoded by the C decoder of the :mod:`json` module, so
the usual chunk, in the middle of a long string, costs a few hundred nanoseconds.

Containers are updated as soon as their items are known. The string being read is kept as
pieces, joined into the value when :attr:`~PartialJSONParser.value` is read: a caller who never
reads it pays a list append per chunk. Once it has been read, later chunks are appended to it
directly, which saves the pieces for a caller who reads after every chunk. The append is
``s += text`` with no other reference to ``s`` alive, which CPython performs in place, in
amortised O(len(text)): this is what makes reading the value after every chunk linear overall
instead of O(len(string)) per read. If the caller holds on to the in-progress string itself
(or hashes it), or on another Python implementation, the append copies the string, so each
chunk costs O(len(string)): still correct, but quadratic over one long string.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any, Final, NoReturn, cast

try:
    from _json import scanstring as _scanstring
except ImportError:  # pragma: no cover - not CPython: json's own pure-Python decoder
    from json.decoder import py_scanstring as _scanstring  # type: ignore[attr-defined,no-redef]

__all__ = ["MISSING", "PartialJSONError", "PartialJSONParser", "parse_partial"]


class _Missing(enum.Enum):
    MISSING = "MISSING"

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing.MISSING
"""The value before anything of it is known (no input yet, or a top-level number or literal
that may still change). A sentinel rather than ``None``, which is a JSON value."""


class PartialJSONError(ValueError):
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


# Parser states: what the next character may be.
_VALUE = 0  # a value (top level, after ':', after ',' in an array)
_VALUE_OR_CLOSE = 1  # just after '['
_KEY_OR_CLOSE = 2  # just after '{'
_KEY = 3  # after ',' in an object
_COLON = 4
_AFTER_ITEM = 5  # after an array item: ',' or ']'
_AFTER_MEMBER = 6  # after an object member: ',' or '}'
_STRING = 7  # inside a string (a key if _is_key)
_ESCAPE = 8  # inside an escape sequence of a string
_NUMBER = 9
_LITERAL = 10  # inside true, false or null
_DONE = 11  # the top-level value is complete: only whitespace may follow
_ERROR = 12

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
_match_number = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?").match

_WS: Final = " \t\n\r"
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
_LITERALS: Final[dict[str, tuple[str, Any]]] = {
    "t": ("true", True),
    "f": ("false", False),
    "n": ("null", None),
}


class PartialJSONParser:
    """Parse one JSON document fed in chunks, exposing the value read so far.

    See the module documentation for what :attr:`value` shows while the document is incomplete.
    A parser reads one document; make a new one for the next.
    """

    __slots__ = (
        "_after",
        "_error",
        "_esc",
        "_handlers",
        "_is_key",
        "_keys",
        "_literal",
        "_literal_i",
        "_num_parts",
        "_num_start",
        "_num_state",
        "_offset",
        "_parts",
        "_root",
        "_stack",
        "_state",
        "_str_container",
        "_str_key",
        "_watched",
    )

    def __init__(self) -> None:
        self._state = _VALUE
        self._after = _DONE  # the state once the value being read is complete
        self._root: list[Any] = []  # holds the top-level value, so it is put like an array item
        self._stack: list[Any] = [self._root]  # the open containers, innermost last
        self._keys: list[str] = [""]  # per container: the key of the member being read
        self._parts: list[str] = []  # decoded pieces of the current string not yet in the value
        self._str_container: Any = self._root  # where the string value being read is
        self._str_key: str | int = -1
        self._watched = False  # the value string being read has been read: extend it eagerly
        self._is_key = False
        self._esc = ""  # the escape read so far, after its backslash
        self._literal = ""
        self._literal_i = 0
        self._num_parts: list[str] = []
        self._num_state = _N_START
        self._num_start = 0
        self._offset = 0  # characters fed before the current chunk
        self._error: PartialJSONError | None = None
        self._handlers: tuple[Callable[[str, int], int], ...] = (
            self._on_value,
            self._on_value,
            self._on_key,
            self._on_key,
            self._on_colon,
            self._on_after_item,
            self._on_after_member,
            self._on_string,
            self._on_escape,
            self._on_number,
            self._on_literal,
            self._on_done,
        )

    def feed(self, chunk: str) -> None:
        """Read the next piece of the input; raises :class:`PartialJSONError` if it is invalid."""
        state = self._state
        # Fast paths for the middle of a long string, where a streamed argument spends its time:
        # plain characters, else characters and escapes that json's C decoder takes in one call.
        if state == _STRING and '"' not in chunk and "\\" not in chunk and chunk.isprintable():
            parts = self._parts
            if self._watched and not parts:
                container = self._str_container
                key = self._str_key
                s = container[key]
                container[key] = None
                s += chunk  # in place in CPython: nothing else refers to s now
                container[key] = s
            else:
                parts.append(chunk)
            self._offset += len(chunk)
            return
        pos = 0
        if (state == _STRING or (state == _ESCAPE and not self._esc)) and chunk:
            pos = self._scan_string(chunk)
        elif state == _ERROR:
            self._raise_again()
        handlers = self._handlers
        n = len(chunk)
        while pos < n:
            pos = handlers[self._state](chunk, pos)
        self._offset += n

    def _scan_string(self, chunk: str) -> int:
        """Take string content from the start of ``chunk`` with json's C decoder.

        Returns where the general path goes on: ``len(chunk)`` if all of it was string content,
        the position after the closing quote, or 0 to leave all of it to the general path (an
        escape cut short or invalid, a control character, or a high surrogate at the end that
        may pair with the next chunk).
        """
        shift = 0 if self._state == _STRING else 1  # 1: the backslash read last time
        text = "\\" + chunk if shift else chunk
        backslash_pending = text[-1] == "\\" and (len(text) - len(text.rstrip("\\"))) & 1
        if backslash_pending:
            text = text[:-1]  # it escapes the first character of the next chunk
            if not text:
                self._state = _ESCAPE
                self._esc = ""
                return len(chunk)
        try:
            decoded, end = _scanstring(text + '"', 0)
        except ValueError:
            return 0
        if end <= len(text):  # the string ends in this chunk
            self._extend(decoded)
            self._end_string()
            return end - shift
        if decoded[-1] >= "\ud800" and decoded[-1] <= "\udbff":
            return 0
        parts = self._parts
        if self._watched and not parts:  # as _extend(decoded), inlined: this path is hot
            container = self._str_container
            key = self._str_key
            s = container[key]
            container[key] = None
            s += decoded
            container[key] = s
        else:
            parts.append(decoded)
        if backslash_pending:
            self._state = _ESCAPE
            self._esc = ""
        else:
            self._state = _STRING
        return len(chunk)

    @property
    def value(self) -> Any:
        """The value read so far: a live structure that later chunks extend (see the module doc).

        :data:`MISSING` until something of the top-level value is known.
        """
        parts = self._parts
        if parts and not self._is_key:
            self._flush_string()
            self._watched = True
        root = self._root
        return root[0] if root else MISSING

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
        if self._state == _NUMBER and self._after == _DONE:
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
        if type(container) is list:
            in_string = state in (_STRING, _ESCAPE)
            return len(container) - 1 if in_string and not self._is_key else None
        if state in (_COLON, _VALUE, _NUMBER, _LITERAL) or (
            state in (_STRING, _ESCAPE) and not self._is_key
        ):
            return self._keys[depth]
        return None

    # --- building the value -------------------------------------------------------------

    def _put(self, value: Any) -> None:
        if self._after == _AFTER_MEMBER:
            self._stack[-1][self._keys[-1]] = value
        else:
            self._stack[-1].append(value)

    def _push(self, container: list[Any] | dict[str, Any]) -> None:
        self._put(container)
        self._stack.append(container)
        self._keys.append("")
        self._after = _AFTER_ITEM if type(container) is list else _AFTER_MEMBER

    def _pop(self) -> None:
        stack = self._stack
        stack.pop()
        self._keys.pop()
        if len(stack) == 1:
            self._after = _DONE
        else:
            self._after = _AFTER_ITEM if type(stack[-1]) is list else _AFTER_MEMBER
        self._state = self._after

    def _extend(self, text: str) -> None:
        """Add decoded text to the string being read: at once if the caller watches it."""
        parts = self._parts
        if self._watched and not parts:
            container = self._str_container
            key = self._str_key
            s = container[key]
            container[key] = None
            s += text
            container[key] = s
        else:
            parts.append(text)

    def _flush_string(self) -> None:
        """Append the pending pieces to the string being read, in its parent container."""
        parts = self._parts
        tail = "".join(parts)
        parts.clear()
        container = self._str_container
        key = self._str_key
        s = container[key]
        container[key] = None
        s += tail  # in place in CPython: nothing else refers to s now
        container[key] = s

    def _end_string(self) -> None:
        parts = self._parts
        if self._is_key:
            self._keys[-1] = "".join(parts)
            parts.clear()
            self._state = _COLON
        else:
            if parts:
                self._flush_string()
            self._state = self._after

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
        self._state = _ERROR
        self._error = PartialJSONError(msg, self._offset + pos)
        raise self._error

    def _raise_again(self) -> NoReturn:
        error = self._error
        assert error is not None
        raise PartialJSONError(error.msg, error.pos)

    # --- one handler per state: consume from text[pos], return where to go on -------------

    def _on_value(self, text: str, pos: int) -> int:
        c = text[pos]
        if c == '"':
            pos += 1
            end = _match_str_run(text, pos).end()
            if end < len(text) and text[end] == '"':
                self._put(text[pos:end])
                self._state = self._after
                return end + 1
            self._put("")
            self._str_container = self._stack[-1]
            self._str_key = self._keys[-1] if self._after == _AFTER_MEMBER else -1
            if end > pos:
                self._parts.append(text[pos:end])
            self._is_key = False
            self._watched = False
            self._state = _STRING
            return end
        if c in _WS:
            return _match_ws(text, pos).end()
        if c in "-0123456789":
            return self._start_number(text, pos)
        if c == "{":
            self._push({})
            self._state = _KEY_OR_CLOSE
            return pos + 1
        if c == "[":
            self._push([])
            self._state = _VALUE_OR_CLOSE
            return pos + 1
        if c in _LITERALS:
            word, value = _LITERALS[c]
            if text.startswith(word, pos):
                self._put(value)
                self._state = self._after
                return pos + len(word)
            self._literal = word
            self._literal_i = 1
            self._state = _LITERAL
            return pos + 1
        if c == "]" and self._state == _VALUE_OR_CLOSE:
            self._pop()
            return pos + 1
        if c in "NI":
            self._fail(pos, "NaN and Infinity are not JSON")
        self._fail(pos, "expected a value")

    def _start_number(self, text: str, pos: int) -> int:
        m = _match_number(text, pos)
        if m is not None:
            end = m.end()
            if end < len(text) and text[end] not in ".eE":
                # Complete: nothing after it can extend it.
                if m.lastindex is None:
                    self._put(self._int(m.group(), pos))
                else:
                    self._put(float(m.group()))
                self._state = self._after
                return end
        self._num_start = self._offset + pos
        self._num_state = _N_START
        self._state = _NUMBER
        return pos

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

    def _on_key(self, text: str, pos: int) -> int:
        c = text[pos]
        if c == '"':
            pos += 1
            end = _match_str_run(text, pos).end()
            n = len(text)
            if end < n and text[end] == '"':
                self._keys[-1] = text[pos:end]
                end += 1
                if end < n and text[end] == ":":  # and the usual ': ' at once
                    self._state = _VALUE
                    end += 1
                    return end + 1 if end < n and text[end] == " " else end
                self._state = _COLON
                return end
            if end > pos:
                self._parts.append(text[pos:end])
            self._is_key = True
            self._watched = False
            self._state = _STRING
            return end
        if c in _WS:
            return _match_ws(text, pos).end()
        if c == "}" and self._state == _KEY_OR_CLOSE:
            self._pop()
            return pos + 1
        self._fail(pos, "expected '\"' or '}'" if self._state == _KEY_OR_CLOSE else "expected '\"'")

    def _on_colon(self, text: str, pos: int) -> int:
        c = text[pos]
        if c == ":":
            self._state = _VALUE
            return pos + 2 if text[pos + 1 : pos + 2] == " " else pos + 1
        if c in _WS:
            return _match_ws(text, pos).end()
        self._fail(pos, "expected ':'")

    def _on_after_item(self, text: str, pos: int) -> int:
        c = text[pos]
        if c == ",":
            self._state = _VALUE
            return pos + 2 if text[pos + 1 : pos + 2] == " " else pos + 1
        if c == "]":
            self._pop()
            return pos + 1
        if c in _WS:
            return _match_ws(text, pos).end()
        self._fail(pos, "expected ',' or ']'")

    def _on_after_member(self, text: str, pos: int) -> int:
        c = text[pos]
        if c == ",":
            self._state = _KEY
            return pos + 2 if text[pos + 1 : pos + 2] == " " else pos + 1
        if c == "}":
            self._pop()
            return pos + 1
        if c in _WS:
            return _match_ws(text, pos).end()
        self._fail(pos, "expected ',' or '}'")

    def _on_string(self, text: str, pos: int) -> int:
        n = len(text)
        parts = self._parts
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
        emit = self._parts.append
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
                self._state = _STRING
                return pos + 1
            if k == 5 or k == 6:  # after a high surrogate: is a low one coming?
                if c == ("\\" if k == 5 else "u"):
                    esc += c
                    pos += 1
                    continue
                emit(chr(int(esc[1:5], 16)))
                if k == 5:
                    self._state = _STRING
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
                    self._state = _STRING
                    return pos
            elif k == 10:
                high = int(esc[1:5], 16)
                low = int(esc[7:], 16)
                if 0xDC00 <= low <= 0xDFFF:
                    emit(chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)))
                    self._state = _STRING
                    return pos
                emit(chr(high))
                if not 0xD800 <= low <= 0xDBFF:
                    emit(chr(low))
                    self._state = _STRING
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
