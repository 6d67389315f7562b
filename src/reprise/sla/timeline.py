"""Sets of time as sorted, disjoint half-open spans [start, end) of epoch seconds: the
arithmetic that splits a period into up, down, maintenance and no data."""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[float, float]


def normalise(spans: Iterable[Span]) -> list[Span]:
    """Sorted, merged (overlapping or touching spans become one), empty ones dropped."""
    merged: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(spans: Iterable[Span], low: float, high: float) -> list[Span]:
    """The parts of ``spans`` inside [low, high)."""
    return normalise((max(start, low), min(end, high)) for start, end in spans)


def intersect(first: list[Span], second: list[Span]) -> list[Span]:
    """Time in both (inputs normalised)."""
    result: list[Span] = []
    i = j = 0
    while i < len(first) and j < len(second):
        start = max(first[i][0], second[j][0])
        end = min(first[i][1], second[j][1])
        if start < end:
            result.append((start, end))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(first: list[Span], second: list[Span]) -> list[Span]:
    """Time in ``first`` and not in ``second`` (inputs normalised)."""
    result: list[Span] = []
    j = 0
    for start, end in first:
        cursor = start
        while j < len(second) and second[j][1] <= cursor:
            j += 1
        k = j
        while k < len(second) and second[k][0] < end:
            if second[k][0] > cursor:
                result.append((cursor, second[k][0]))
            cursor = max(cursor, second[k][1])
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def length(spans: Iterable[Span]) -> float:
    """Total seconds."""
    return float(sum(end - start for start, end in spans))
