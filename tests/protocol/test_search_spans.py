"""match_spans: where a query matched in a text, to highlight a hit by the search rule itself."""

from __future__ import annotations

import pytest

from chat_protocol.search import match_spans, matches, query_terms


def marked(query: str, text: str) -> list[str]:
    return [text[start:end] for start, end in match_spans(query_terms(query), text)]


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("meet", "Meeting at noon? MEET me there", ["Meet", "MEET"]),
        ("cafe", "Le café d'Ångström", ["café"]),
        ("ang", "Le café d'Ångström", ["Ång"]),
        ("strasse", "Straßenbahn", ["Straße"]),
        ("lunch noon", "noon lunch", ["noon", "lunch"]),
        ("京都", "東京都に行く", ["京都"]),
        ("都", "東京都", ["都"]),
        ("deploy", "😀 deployed", ["deploy"]),
        ("bar", "foobar", []),
    ],
)
def test_the_matched_part_of_each_matching_word_is_marked(
    query: str, text: str, expected: list[str]
) -> None:
    assert marked(query, text) == expected


def test_a_text_is_marked_exactly_when_the_rule_matches_each_of_its_terms() -> None:
    text = "Réunion demain: le café, puis le déploiement"
    for query in ("reunion", "cafe deplo", "caf dem", "lunch", "reunion lunch"):
        terms = query_terms(query)
        every_term_marked = all(match_spans([term], text) for term in terms)
        assert every_term_marked == matches(terms, text), query
