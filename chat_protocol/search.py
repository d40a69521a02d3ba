"""The search rule of the contract: how text is cut into words and how a query matches.

One rule, written once and pure (no I/O), so that the server's index (SQLite
FTS5 or PostgreSQL ``tsvector``, :mod:`chat_server.storage.search_index`) and
the desktop client's offline index (:mod:`chat_desktop.storage.cache`) find
exactly the same messages for the same query. Both engines are handed the
tokens made here, joined by spaces, and told to take them verbatim: neither
engine's own word rules (stemming, stop words, its idea of a letter) apply.

The rule (``docs/protocol.md``, Extensions, "Search"):

- Text is NFKC-normalised and case-folded (``casefold``: ``Straße`` is
  ``strasse``), so full-width ``Ｃａｆé`` and ``café`` are the same.
- A **word** is a run of letters and digits (Unicode categories L and N, plus
  the combining marks that belong to them, so a Devanagari or Thai word is not
  cut at its vowel signs). Everything else separates words.
- Accents are folded for Latin letters only: a Latin letter is decomposed
  (NFKD) and its combining marks dropped, so ``cafe`` finds ``café`` and
  ``Ångström`` is ``angstrom``; ``ø`` or ``ł`` have no decomposition and stay.
  Other scripts keep their marks (they change the letter, not its accent).
- Chinese, Japanese (kana too) and Korean (Hangul) letters are written without
  spaces between words, so a run of them is indexed as its overlapping pairs
  of characters (bigrams) plus its last character alone: ``東京都`` gives
  ``東京 京都 都``. Any substring of 2 or more characters of such a run is then
  found (its bigrams all occur), and a single character as a query is found
  wherever it occurs (it starts a bigram, or ends a run).
- A word longer than :data:`MAX_TOKEN_CHARS` is cut to that length, in the
  index and in a query alike, so prefix matching still holds and no engine
  meets a term too long for it (PostgreSQL refuses lexemes over 2 KiB).
- A query is cut by the same rule; each of its terms must match **as a
  prefix** of some token of the message (``meet`` finds ``meeting``). A query
  with no word at all (only spaces and punctuation) is :class:`NoSearchWords`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from itertools import pairwise

# Longer words are cut to this many characters (index and query alike).
MAX_TOKEN_CHARS = 64
# At most this many terms in one query: each is a prefix look-up in the index.
MAX_QUERY_TERMS = 16
# Results per search: the default and the most one request may ask for.
DEFAULT_LIMIT = 20
MAX_LIMIT = 50

# What a character is, for the rule above.
_SEPARATOR = 0
_WORD = 1  # a letter or digit outside the CJK scripts, accents kept
_LATIN = 2  # a Latin letter: accents folded
_CJK = 3  # a Han, kana or Hangul letter: cut into bigrams
_MARK = 4  # a combining mark: belongs to the letter before it

# The blocks whose letters are written without spaces between words.
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # the iteration mark, closing mark, ideographic zero
    # Hiragana, Katakana (with ー), Bopomofo, Hangul Compatibility Jamo,
    # Kanbun, Bopomofo Extended, Katakana Phonetic Extensions.
    (0x3040, 0x31FF),
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul Syllables, Jamo Extended-B
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x3FFFF),  # CJK Unified Ideographs Extensions B and later
)


class NoSearchWords(ValueError):
    """A query with no word in it: nothing to look for (HTTP 400 ``bad_request``)."""

    def __init__(self) -> None:
        super().__init__("the query has no word to search for: give letters or digits")


class TooManySearchWords(ValueError):
    """A query with more than :data:`MAX_QUERY_TERMS` terms (HTTP 400 ``bad_request``)."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"the query has {count} search terms; at most {MAX_QUERY_TERMS} are allowed"
        )


@lru_cache(maxsize=4096)
def _kind(char: str) -> tuple[int, str]:
    """The kind of ``char`` and what it stands for in a token (accent folded when Latin)."""
    category = unicodedata.category(char)
    if category[0] == "M":
        return _MARK, char
    if category[0] not in "LN":
        return _SEPARATOR, ""
    code = ord(char)
    if any(low <= code <= high for low, high in _CJK_RANGES):
        return _CJK, char
    if code < 0x80:
        return _LATIN, char
    if unicodedata.name(char, "").startswith("LATIN "):
        # Dotless i (U+0131) is what "I" lower-cases to in Turkish: without
        # this a search for "I..." would miss it (casefold keeps it, "I" is i).
        folded = (
            "i"
            if char == "\u0131"
            else "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if not unicodedata.category(part).startswith("M")
            )
        )
        return _LATIN, folded
    return _WORD, char


def _normalise(text: str) -> str:
    # NFKC before casefold so compatibility forms fold alike, and after it
    # because casefold may leave a sequence NFKC composes (İ -> i + dot).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def _runs(text: str) -> list[tuple[bool, list[str]]]:
    """The runs of ``text``: (is CJK, its characters with their marks attached)."""
    runs: list[tuple[bool, list[str]]] = []
    current: list[str] = []
    current_cjk = False
    previous = _SEPARATOR
    for char in _normalise(text):
        kind, value = _kind(char)
        if kind == _MARK:
            # A mark belongs to the letter before it: dropped after a Latin
            # letter (an accent), kept after any other; alone it separates.
            if previous == _LATIN:
                continue
            if previous in (_WORD, _CJK) and current:
                current[-1] += value
                continue
            kind = _SEPARATOR
        if kind == _SEPARATOR or (current and (kind == _CJK) != current_cjk):
            if current:
                runs.append((current_cjk, current))
            current = []
        if kind != _SEPARATOR:
            current.append(value)
            current_cjk = kind == _CJK
        previous = kind
    if current:
        runs.append((current_cjk, current))
    return runs


def _cut(token: str) -> str:
    return token[:MAX_TOKEN_CHARS]


# For ASCII text the rule comes down to this (NFKC changes nothing, casefold
# is lower, there is no CJK and no accent): the same tokens several times
# faster, which matters because the server cuts every message on its writer.
_ASCII_WORD = re.compile(r"[a-z0-9]+")


def index_tokens(text: str) -> list[str]:
    """The tokens under which a message with ``text`` is indexed, in text order.

    Words whole, CJK runs as bigrams plus the run's last character. Repeated
    tokens are kept (an engine counts or ignores them; the result is the same).
    """
    if text.isascii():
        return [word[:MAX_TOKEN_CHARS] for word in _ASCII_WORD.findall(text.lower())]
    return _rule_tokens(text)


def _rule_tokens(text: str) -> list[str]:
    """:func:`index_tokens` by the rule itself, character by character (any text)."""
    tokens: list[str] = []
    for cjk, chars in _runs(text):
        if not cjk:
            tokens.append(_cut("".join(chars)))
            continue
        tokens.extend(_cut(a + b) for a, b in pairwise(chars))
        tokens.append(_cut(chars[-1]))
    return tokens


def index_text(text: str) -> str:
    """:func:`index_tokens` joined by single spaces: what the engines index."""
    return " ".join(index_tokens(text))


def query_terms(query: str) -> list[str]:
    """The terms of a query, each to be matched as a prefix of a token; none repeated.

    A word is one term; a CJK run of 2 or more characters gives its bigrams
    (all must occur, so the run occurs as a substring up to the order of its
    pairs), a single CJK character itself. Raises :class:`NoSearchWords` when
    there is no term and :class:`TooManySearchWords` beyond
    :data:`MAX_QUERY_TERMS`.
    """
    terms: list[str] = []
    for cjk, chars in _runs(query):
        if cjk and len(chars) > 1:
            terms.extend(_cut(a + b) for a, b in pairwise(chars))
        else:
            terms.append(_cut("".join(chars)))
    unique = list(dict.fromkeys(terms))
    if not unique:
        raise NoSearchWords
    if len(unique) > MAX_QUERY_TERMS:
        raise TooManySearchWords(len(unique))
    return unique


def matches(terms: list[str], text: str) -> bool:
    """Whether a message with ``text`` matches every one of ``terms``: the reference rule.

    The engines do this with their indexes; this plain version is what the
    tests hold them to.
    """
    tokens = index_tokens(text)
    return all(any(token.startswith(term) for token in tokens) for term in terms)


# A query term that is the prefix of at most this many indexed words is given
# to FTS5 as those words (see fts5_match); of more, as an FTS5 prefix term.
MAX_PREFIX_EXPANSIONS = 512


def prefix_range(term: str) -> tuple[str, str]:
    """(low, high): the words starting with ``term`` are those >= low and < high.

    Compared as SQLite compares text (by UTF-8 bytes, that is code point order).
    U+10FFFF, the highest code point, is no letter or digit, so no token holds it.
    """
    return term, term + "\U0010ffff"


def _fts5_quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts5_match(terms: list[str], expansions: Mapping[str, list[str]] | None = None) -> str:
    """An SQLite FTS5 ``MATCH`` expression: every term as a quoted prefix (``"tok"*``).

    ``expansions`` may give, for a term, every indexed word it is a prefix of:
    the term then becomes ``("w1" OR "w2" ...)``, which matches the same rows
    but which FTS5 reads lazily, newest first, stopping at the limit, where a
    prefix term makes it merge the whole match list of every such word first.

    Terms hold only letters, digits and marks, so the quotes need no escaping;
    they are doubled anyway, as FTS5 asks, so that no term can ever be read as
    FTS5 syntax.
    """
    parts = []
    for term in terms:
        words = (expansions or {}).get(term)
        if words is None:
            parts.append(_fts5_quote(term) + "*")
        else:
            parts.append("(" + " OR ".join(_fts5_quote(word) for word in words) + ")")
    return " AND ".join(parts)


# FTS5's ``secure-delete`` option (deleted rows' terms removed from the index
# at once) appeared in SQLite 3.42.0; both SQLite indexes switch it on when there.
FTS5_SECURE_DELETE_SINCE = (3, 42, 0)


def has_fts5_secure_delete(sqlite_version: str) -> bool:
    """Whether an SQLite of this version (``"3.40.1"``) has FTS5's ``secure-delete``."""
    found = tuple(int(part) for part in sqlite_version.split(".")[:3] if part.isdigit())
    return found >= FTS5_SECURE_DELETE_SINCE


def tsquery(terms: list[str]) -> str:
    """A PostgreSQL ``tsquery`` in its text form: every term a quoted prefix (``'tok':*``)."""
    quoted = ("'" + term.replace("\\", "\\\\").replace("'", "''") + "':*" for term in terms)
    return " & ".join(quoted)


def match_spans(terms: list[str], text: str) -> list[tuple[int, int]]:
    """Where ``terms`` match in ``text``: (start, end) character offsets, in text order.

    For showing a hit with its matched words highlighted, by the same rule
    as :func:`matches`: a word whose token starts with a term is marked for
    as many characters as the term covers (``meet`` marks ``Meet`` in
    ``Meeting``; ``cafe`` marks ``café``); in Chinese, Japanese and Korean
    text each occurrence of a term's characters is marked. Offsets are into
    ``text`` as given (Python's code points), not into its normalised form.
    """
    spans: list[tuple[int, int]] = []
    for cjk, chars in _original_runs(text):
        if cjk:
            spans.extend(_cjk_spans(terms, chars))
            continue
        # Each character's part of the token, so a term's length maps back.
        token = "".join(part for _, part in chars)[:MAX_TOKEN_CHARS]
        longest = max((len(term) for term in terms if token.startswith(term)), default=0)
        covered = 0
        for position, part in chars:
            if covered >= longest:
                break
            covered += len(part)
            spans.append((position, position + 1))
    return _joined(spans)


def _original_runs(text: str) -> list[tuple[bool, list[tuple[int, str]]]]:
    """The runs of :func:`_runs`, each character with its offset in ``text`` and its part
    of the token (normalised, accent folded; a mark kept or dropped as the rule says)."""
    runs: list[tuple[bool, list[tuple[int, str]]]] = []
    current: list[tuple[int, str]] = []
    current_cjk = False
    previous = _SEPARATOR
    for position, original in enumerate(text):
        normalised = _normalise(original)
        kinds = [_kind(char) for char in normalised] or [(_SEPARATOR, "")]
        kind = kinds[0][0]
        value = "".join(part for _, part in kinds)
        if kind == _MARK:
            if previous == _LATIN and current:
                current.append((position, ""))
                continue
            if previous in (_WORD, _CJK) and current:
                current.append((position, value))
                continue
            kind = _SEPARATOR
        if kind == _SEPARATOR or (current and (kind == _CJK) != current_cjk):
            if current:
                runs.append((current_cjk, current))
            current = []
        if kind != _SEPARATOR:
            current.append((position, value))
            current_cjk = kind == _CJK
        previous = kind
    if current:
        runs.append((current_cjk, current))
    return runs


def _cjk_spans(terms: list[str], chars: list[tuple[int, str]]) -> list[tuple[int, int]]:
    """Every occurrence of a term's characters in a CJK run (a term is 1 or 2 of them)."""
    spans: list[tuple[int, int]] = []
    values = [value for _, value in chars]
    for term in terms:
        width = len(term)
        for index in range(len(values) - width + 1):
            if "".join(values[index : index + width]) == term:
                spans.append((chars[index][0], chars[index + width - 1][0] + 1))
    return spans


def _joined(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans sorted, touching or overlapping ones joined."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined
