"""Per-round gaps of ours to the floors in this folder's latency JSON files, and pooled per side.

In a round the servers take turns, so a round's servers share its load;
a gap is taken within a round. Run from the repository root:
``python bench/results/issue17-sync/gaps.py bench/results/issue17-sync/latency*.json``
(files named ``*before*`` and ``*after*`` are pooled per side).
"""

import json
import statistics
import sys
from collections import defaultdict


def rounds(path: str) -> dict[int, list[dict[str, dict]]]:
    by_size: dict[int, list[dict[str, dict]]] = {}
    with open(path) as file:
        runs = json.load(file)["runs"]
    for run in runs:
        size = by_size.setdefault(run["clients"], [])
        if not size or run["target"] in size[-1]:
            size.append({})
        size[-1][run["target"]] = run
    return by_size


def gaps(r: dict[str, dict]) -> tuple[float, float, float]:
    ours, loop, bare = r["ours"], r["durable_loop"], r["bare"]
    return (
        ours["p50_ms"] - loop["p50_ms"],
        ours["p99_ms"] / loop["p99_ms"],
        ours["p50_ms"] - bare["p50_ms"],
    )


def line(label: str, rows: list[tuple[float, float, float]]) -> str:
    def med(i: int) -> float:
        return statistics.median(row[i] for row in rows)

    def quartiles(i: int) -> str:
        if len(rows) < 4:
            return ""
        q = statistics.quantiles([row[i] for row in rows], n=4)
        return f" ({q[0]:+.2f} .. {q[2]:+.2f})"

    return (
        f"{label}: {len(rows)} rounds;"
        f" ours - on-loop floor p50 median {med(0):+.2f} ms{quartiles(0)};"
        f" ours / on-loop floor p99 median {med(1):.2f}x; ours - bare p50 median {med(2):+.2f} ms"
    )


pooled: dict[tuple[str, int], list[tuple[float, float, float]]] = defaultdict(list)
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1]
    side = "before" if "before" in name else "after"
    for clients, size in rounds(path).items():
        rows = [gaps(r) for r in size]
        per = "; ".join(f"{a:+.2f} ms / {b:.2f}x" for a, b, _ in rows)
        print(f"{name} {clients} clients, per round (p50 gap / p99 ratio): {per}")
        pooled[side, clients] += rows
for (side, clients), rows in sorted(pooled.items()):
    print(line(f"pooled {side:6s} {clients:4d} clients", rows))
