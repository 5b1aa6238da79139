"""Counts the cases of the route matrix (tests/engine/test_route_matrix.py), so the end of a
test run can say how large it was: in all, by kind (HTTP, websocket) and by person."""

from collections import Counter

cases: Counter[str] = Counter()
by_person: Counter[str] = Counter()


def count(kind: str, who: str = "") -> None:
    """One case of `kind` ("http" or "websocket") asked as `who`."""
    cases[kind] += 1
    if who:
        by_person[who] += 1


def summary() -> list[str]:
    """The lines the end of a run prints, or none if no case ran."""
    if not cases:
        return []
    http, websocket = cases["http"], cases["websocket"]
    lines = [
        f"route matrix: {http + websocket} cases checked "
        f"({http} HTTP: route x person x method; {websocket} websocket: "
        "route x person x origin)"
    ]
    if by_person:
        lines.append(
            "route matrix by person: "
            + ", ".join(f"{who} {n}" for who, n in sorted(by_person.items()))
        )
    return lines
