"""Counts the cases of the route matrix (tests/engine/test_route_matrix.py), so the end of a
test run can say how large it was."""

from collections import Counter

cases: Counter[str] = Counter()


def count(kind: str) -> None:
    cases[kind] += 1
