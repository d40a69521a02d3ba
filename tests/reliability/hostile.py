"""Hypothesis strategies for hostile input, shared by the fuzz tests.

Frames and bodies that look almost right are the dangerous ones, so the
strategies mix random JSON (huge and fractional numbers, odd Unicode
including lone surrogates, deep nesting) with objects that carry a real
``type`` and real field names holding wrong values.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

CLIENT_TYPES = ["hello", "message", "typing", "history", "create-room"]
FIELDS = [
    "type",
    "room",
    "client_id",
    "text",
    "token",
    "since",
    "before",
    "limit",
    "active",
    "name",
]

# Text as hostile as Unicode allows: control characters, surrogates (only
# reachable through JSON escapes), right-to-left marks, emoji, NUL.
odd_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["", " ", "\x00", "\u202e", "\ufeff", "💥" * 10, "general", "a" * 70, "GENERAL", "../.."]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | odd_text
)

json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def almost_valid_objects(draw: st.DrawFn) -> dict[str, Any]:
    """An object with a real type and some real field names holding anything."""
    obj: dict[str, Any] = {"type": draw(st.sampled_from([*CLIENT_TYPES, "welcome", "ack", ""]))}
    for name in draw(st.lists(st.sampled_from(FIELDS[1:]), max_size=5, unique=True)):
        obj[name] = draw(json_values)
    return obj


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def to_json(value: Any) -> str:
    # ensure_ascii: lone surrogates travel as \\udXXX escapes, as a hostile client would send them.
    return json.dumps(value, ensure_ascii=True)


hostile_text_frames = st.one_of(
    json_values.map(to_json),
    almost_valid_objects().map(to_json),
    st.dictionaries(odd_text, json_values, max_size=6).map(to_json),
    # Up to 60 kB: under the 64 KiB frame limit (oversize has its own test).
    st.integers(min_value=1, max_value=30_000).map(_deep),
    st.integers(min_value=1, max_value=5_000).map(lambda n: '{"type":' * n),
    # Raw text: a text frame is UTF-8, so no lone surrogates here (invalid
    # UTF-8 has its own test).
    odd_text.map(lambda text: text.encode("utf-8", "replace").decode("utf-8")),
)
