"""The search rule (chat_protocol.search): how text becomes tokens and a query terms.

Examples pin the rule down; hypothesis checks the properties the engines
rely on for any text: tokens are stable under normalisation, a word of a
text always finds it, and any CJK substring of 2 or more characters does.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chat_protocol.search import (
    MAX_QUERY_TERMS,
    MAX_TOKEN_CHARS,
    NoSearchWords,
    TooManySearchWords,
    fts5_match,
    has_fts5_secure_delete,
    index_text,
    index_tokens,
    matches,
    query_terms,
    tsquery,
)
from chat_protocol.search import _rule_tokens as tokens_by_the_rule


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello, World!", ["hello", "world"]),
        ("Café au lait", ["cafe", "au", "lait"]),
        ("ÅNGSTRÖM naïve façade", ["angstrom", "naive", "facade"]),
        ("Straße", ["strasse"]),
        ("\uff26\uff55\uff4c\uff4c\u3000\uff57\uff49\uff44\uff54\uff48", ["full", "width"]),
        ("e\u0301clair", ["eclair"]),  # a decomposed accent folds like a composed one
        ("iPhone15 v2.0", ["iphone15", "v2", "0"]),
        ("snake_case-word", ["snake", "case", "word"]),
        ("smørrebrød łódź", ["smørrebrød", "łodz"]),  # no decomposition: ø and ł stay
        ("Ελληνικά ΚΕΙΜΕΝΟ", ["ελληνικά", "κειμενο"]),  # noqa: RUF001 (Greek keeps its accents)
        ("Привет, мир", ["привет", "мир"]),
        ("नमस्ते दुनिया", ["नमस्ते", "दुनिया"]),  # vowel signs stay inside the word
        ("東京都", ["東京", "京都", "都"]),
        ("日本語abc漢字", ["日本", "本語", "語", "abc", "漢字", "字"]),
        ("すし", ["すし", "し"]),
        ("안녕하세요 세계", ["안녕", "녕하", "하세", "세요", "요", "세계", "계"]),
        ("猫", ["猫"]),
        ("... !!! --", []),
        ("", []),
    ],
)
def test_text_is_cut_into_tokens_by_the_rule(text: str, tokens: list[str]) -> None:
    assert index_tokens(text) == tokens


def test_a_very_long_word_is_cut_in_the_index_and_in_the_query_alike() -> None:
    word = "x" * 500
    assert index_tokens(word) == ["x" * MAX_TOKEN_CHARS]
    assert matches(query_terms("x" * 300), word)
    assert matches(query_terms("xxxx"), word)


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Meet", ["meet"]),
        ("CAFÉ meet", ["cafe", "meet"]),
        ("meet meet MEET", ["meet"]),
        ("東京都", ["東京", "京都"]),
        ("都", ["都"]),
        ("京都 tower", ["京都", "tower"]),
    ],
)
def test_a_query_is_cut_into_terms(query: str, terms: list[str]) -> None:
    assert query_terms(query) == terms


@pytest.mark.parametrize("query", ["", "   ", "!?.,;", "—", "\u0301"])
def test_a_query_without_a_word_is_a_clear_error(query: str) -> None:
    with pytest.raises(NoSearchWords, match="no word"):
        query_terms(query)


def test_too_many_terms_is_a_clear_error() -> None:
    many = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1))
    with pytest.raises(TooManySearchWords, match=str(MAX_QUERY_TERMS)):
        query_terms(many)
    assert len(query_terms(" ".join(f"w{i}" for i in range(MAX_QUERY_TERMS)))) == MAX_QUERY_TERMS


@pytest.mark.parametrize(
    ("query", "text", "found"),
    [
        ("meet", "Meeting at noon", True),
        ("eting", "Meeting at noon", False),  # a prefix, not any substring
        ("cafe", "Le Café", True),
        ("café", "le cafe", True),
        ("noon meet", "Meeting at noon", True),
        ("noon tea", "Meeting at noon", False),  # every term must match
        ("京都", "東京都庁", True),
        ("東京都", "東京都庁", True),
        ("京", "東京都庁", True),
        ("庁", "東京都庁", True),  # a lone character is found at the end of a run too
        ("都京", "東京都庁", False),
        ("세요", "안녕하세요", True),
    ],
)
def test_matching_follows_the_rule(query: str, text: str, found: bool) -> None:
    assert matches(query_terms(query), text) is found


def test_engine_expressions_quote_every_term_as_a_prefix() -> None:
    assert fts5_match(["cafe", "東京"]) == '"cafe"* AND "東京"*'
    assert tsquery(["cafe", "東京"]) == "'cafe':* & '東京':*"
    # Terms never hold quotes, but the quoting would hold if they did.
    assert fts5_match(['a"b']) == '"a""b"*'
    expanded = fts5_match(["caf", "x"], {"caf": ["cafe", "cafes"]})
    assert expanded == '("cafe" OR "cafes") AND "x"*'
    assert tsquery(["a'b\\"]) == "'a''b\\\\':*"


# Properties -------------------------------------------------------------------

_cjk = st.characters(
    codec="utf-8",
    categories=["Lo"],
    min_codepoint=0x3041,
    max_codepoint=0x9FFF,
).filter(lambda c: unicodedata.normalize("NFKC", c) == c)
_hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
# At most 17 characters: a query of them has at most 16 pairs (MAX_QUERY_TERMS).
_cjk_text = st.text(st.one_of(_cjk, _hangul), min_size=1, max_size=MAX_QUERY_TERMS + 1)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_tokens_are_stable_under_normalisation_and_repetition(text: str) -> None:
    tokens = index_tokens(text)
    for form in ("NFC", "NFD", "NFKC", "NFKD"):
        assert index_tokens(unicodedata.normalize(form, text)) == tokens
    assert index_tokens(text) == tokens
    assert index_text(text) == " ".join(tokens)
    for token in tokens:
        assert token and " " not in token and len(token) <= MAX_TOKEN_CHARS
        # Every token is a word of its own: cutting it again changes nothing.
        assert query_terms(token)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_every_token_of_a_text_as_a_query_finds_the_text(text: str) -> None:
    for token in index_tokens(text):
        assert matches(query_terms(token), text)


@settings(max_examples=300)
@given(st.lists(st.text(st.characters(categories=["L", "N"]), min_size=1), max_size=8))
def test_every_word_of_a_text_finds_it_whatever_its_case(words: list[str]) -> None:
    text = " ... ".join(words)
    for word in words:
        for query in (word, word.upper(), word.lower(), word[: max(1, len(word) // 2)]):
            try:
                terms = query_terms(query)
            except (NoSearchWords, TooManySearchWords):
                continue  # a lone character NFKC turns into punctuation; long CJK runs
            assert matches(terms, text), (query, text)


@settings(max_examples=300)
@given(_cjk_text, st.data())
def test_any_cjk_substring_of_two_or_more_finds_the_text(text: str, data: st.DataObject) -> None:
    if len(text) < 2:
        return
    start = data.draw(st.integers(0, len(text) - 2))
    end = data.draw(st.integers(start + 2, len(text)))
    surrounded = f"x {text} y"
    assert matches(query_terms(text[start:end]), surrounded)
    # A single character is found wherever it stands in the run.
    assert matches(query_terms(text[start]), surrounded)
    assert matches(query_terms(text[-1]), surrounded)


@settings(max_examples=200)
@given(st.text(max_size=100))
def test_any_query_gives_terms_or_a_clear_error(query: str) -> None:
    try:
        terms = query_terms(query)
    except (NoSearchWords, TooManySearchWords):
        return
    assert terms and len(terms) == len(set(terms)) <= MAX_QUERY_TERMS


def test_secure_delete_is_known_by_sqlite_version() -> None:
    assert not has_fts5_secure_delete("3.40.1")
    assert has_fts5_secure_delete("3.42.0")
    assert has_fts5_secure_delete("3.45.3")
    assert not has_fts5_secure_delete("3.9.2")


@settings(max_examples=300)
@given(st.text(st.characters(max_codepoint=0x7F), max_size=200))
def test_the_ascii_shortcut_gives_the_rules_tokens(text: str) -> None:
    assert index_tokens(text) == tokens_by_the_rule(text)
