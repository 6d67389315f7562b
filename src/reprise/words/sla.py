"""Words of the sla features, in both languages (merged into the catalog)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "fr": {},
    "en": {},
}
