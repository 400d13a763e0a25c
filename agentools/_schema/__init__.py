"""Python types and JSON, both ways: what a tool is shown as, and what the model's JSON becomes.

One module per job, each importing only those before it:

* ``records``: the fields of attrs classes, dataclasses and TypedDicts, read once for all;
* ``describe``: types as JSON Schema;
* ``structure``: JSON values as typed values, with the one cattrs converter (tool arguments and
  history messages alike), and tool results as text;
* ``signatures``: a function as a tool, and the model's arguments as its call arguments.

The supported types, and what OpenAI's strict mode cannot express, are listed in
``docs/tools-types.md``.
"""

from .records import ABSENT, MISSING, RecordField, is_record, record_fields
from .signatures import ContextParameter, SchemaError, Signature, fits_strict, signature_of
from .structure import (
    ArgumentsError,
    encode_result,
    make_converter,
    mismatch,
    problems_of,
    render_path,
)

__all__ = [
    "ABSENT",
    "MISSING",
    "ArgumentsError",
    "ContextParameter",
    "RecordField",
    "SchemaError",
    "Signature",
    "encode_result",
    "fits_strict",
    "is_record",
    "make_converter",
    "mismatch",
    "problems_of",
    "record_fields",
    "render_path",
    "signature_of",
]
