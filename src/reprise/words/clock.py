"""The words of times shown to people (labels of the plan's time zone, durations, ETA)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "clock.none": "—",
        "clock.left": "reste {left}",
        "clock.past_estimate": "au-delà de l'estimation",
    },
    "en": {
        "clock.none": "—",
        "clock.left": "{left} left",
        "clock.past_estimate": "past the estimate",
    },
}
