"""People's numbers, durations and dates, in French or in English: one spelling for every
mail, report and message.

French: a decimal comma (``99,5``), thousands grouped with a narrow no-break space
(``12 345``), a narrow no-break space before ``%`` and before the punctuation ``: ; ! ?``
(``Statut : clos``), dates day first (``26/11/2026 12:34``), days written ``j``. English keeps
the forms Reprise always printed (``99.5 %``, ``2026-11-26 12:34``, ``2 d 3 h``).

Durations read the same in both languages apart from the day: ``45 s``, ``1 min 12 s``,
``1 h 05 min``, ``2 j 3 h`` / ``2 d 3 h`` (two units at most, the second one zero-padded).

This module sits in ``words``, a low floor: it imports only the standard library,
``reprise.errors`` and the catalog (``duration.day``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reprise.errors import InputError
from reprise.words import en, fr

NARROW_NBSP = "\u202f"
"""The narrow no-break space French sets before ``; : ! ?`` and ``%`` and between groups of
thousands."""

NBSP = "\u00a0"
"""The no-break space."""

_DAY = {"fr": fr.WORDS["duration.day"], "en": en.WORDS["duration.day"]}
_DECIMAL = {"fr": ",", "en": "."}
_DATE = {"fr": "%d/%m/%Y", "en": "%Y-%m-%d"}
_PUNCTUATION = re.compile(r"[ \u00a0\u202f]*([;:!?])(?=\s|$)")
_SPACED = re.compile(r"[ \u00a0]+([;:!?%»])|(«)[ \u00a0]+")


def _check(language: str) -> None:
    if language not in _DECIMAL:
        raise InputError(f"no language {language!r}", hint="use fr or en")


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def number(value: float, language: str, digits: int | None = None) -> str:
    """A number as people read it: ``1234.5`` → ``1 234,5`` in French, ``1234.5`` in
    English (no grouping, as Reprise always printed). ``digits``: that many decimals
    (``number(1, "fr", 1)`` → ``1,0``); without, an int as it is and a float in its shortest
    form (``1.0`` stays ``1.0``/``1,0``)."""
    _check(language)
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if digits is not None:
        text = f"{value:.{digits}f}"
    elif isinstance(value, int):
        text = str(value)
    else:
        text = repr(float(value))
        if "e" in text:  # 1e-05: a fixed form people can read
            text = f"{value:.12f}".rstrip("0").rstrip(".")
    if language == "en":
        return text
    sign = "-" if text.startswith("-") else ""
    whole, _, decimals = text.lstrip("-").partition(".")
    if whole.isdigit() and len(whole) > 4:  # French groups from five digits on: 12 345
        groups: list[str] = []
        while len(whole) > 3:
            whole, group = whole[:-3], whole[-3:]
            groups.insert(0, group)
        whole = NARROW_NBSP.join([whole, *groups])
    return sign + whole + (_DECIMAL[language] + decimals if decimals else "")


def percent(value: float, language: str, digits: int | None = None) -> str:
    """A percentage: ``99,5 %`` (narrow no-break space) in French, ``99.5 %`` in English
    (Reprise's English form). Without ``digits``, at most six significant digits and no
    trailing zero (``99`` not ``99.0``)."""
    _check(language)
    if digits is None:
        shown = float(f"{value:g}")
        text = number(int(shown) if shown.is_integer() else shown, language)
    else:
        text = number(value, language, digits)
    return f"{text}{NARROW_NBSP if language == 'fr' else ' '}%"


def duration(
    value: float | timedelta | None, language: str, *, decimals: int = 0, none: str = "-"
) -> str:
    """A duration for people: ``45 s``, ``1 min 12 s``, ``1 h 05 min``, ``2 j 3 h`` (``2 d
    3 h`` in English). Two units at most, rounded to the second; under a minute,
    ``decimals`` keeps that many decimals (``12,3 s``). Negative durations count as zero;
    ``None`` is ``none``."""
    _check(language)
    if value is None:
        return none
    total = max(0.0, _seconds(value))
    if decimals and round(total, decimals) < 60:
        return f"{number(total, language, decimals)} s"
    seconds = round(total)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} {_DAY[language]}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes:02d} min" if minutes else "")
    if minutes:
        return f"{minutes} min" + (f" {seconds:02d} s" if seconds else "")
    return f"{seconds} s"


_SIZE_UNITS = {
    "fr": ("o", "Kio", "Mio", "Gio", "Tio"),
    "en": ("B", "KiB", "MiB", "GiB", "TiB"),
}


def size(value: int, language: str) -> str:
    """A size in binary units: ``1,5 Mio`` in French, ``1.5MiB`` in English (the plan's
    spelling, as Reprise always printed it); bytes without decimals."""
    _check(language)
    amount = float(value)
    units = _SIZE_UNITS[language]
    for index, unit in enumerate(units):
        if abs(amount) < 1024 or index == len(units) - 1:
            text = number(round(amount) if index == 0 else amount, language, 0 if index == 0 else 1)
            return f"{text}{' ' if language == 'fr' else ''}{unit}"
        amount /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def zone_of(tz: str | tzinfo | None) -> tzinfo | None:
    """A time zone from its name (``Europe/Paris``) or as given."""
    if tz is None or isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"no time zone {tz!r}", hint="use a name such as Europe/Paris") from None


def when(
    moment: datetime,
    language: str,
    tz: str | tzinfo | None = None,
    *,
    seconds: bool = False,
    zone: bool = False,
) -> str:
    """A moment in ``tz`` (a name or a tzinfo; None: as it is): ``26/11/2026 12:34`` in
    French, ``2026-11-26 12:34`` in English; ``seconds`` adds ``:56``, ``zone`` the zone's
    abbreviation (``CET``)."""
    _check(language)
    zone_info = zone_of(tz)
    if zone_info is not None:
        moment = moment.astimezone(zone_info)
    pattern = _DATE[language] + (" %H:%M:%S" if seconds else " %H:%M") + (" %Z" if zone else "")
    return moment.strftime(pattern).rstrip()


def stamp(moment: datetime, language: str, tz: str | tzinfo, *, seconds: bool = False) -> str:
    """A moment for people on a screen or in a list, in ``tz`` and labelled with the zone's
    abbreviation: ``26/11/2026 12:34 CET`` in French, ``2026-11-26 12:34 CET`` in English
    (``seconds`` adds ``:56``). Every door shows times through this one spelling.

    A naive datetime raises ValueError: Reprise keeps aware UTC times, and a naive one would
    silently be read as the machine's local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time without a time zone cannot be shown: {moment.isoformat()}")
    return when(moment, language, tz, seconds=seconds, zone=True)


def day(value: date, language: str) -> str:
    """A date: ``26/11/2026`` in French, ``2026-11-26`` in English."""
    _check(language)
    return value.strftime(_DATE[language])


def typography(text: str, language: str) -> str:
    """A text of the catalog set in the language's typography: in French, a narrow no-break
    space before ``; : ! ?`` and ``%`` wherever a space (or none, for ``;`` ``!`` ``?``)
    stands before them as punctuation; English as it is. Only for Reprise's own sentences:
    a colon with no space before it and text right after (``12:34``, ``host:port``,
    ``https://``) is data and stays."""
    _check(language)
    if language != "fr":
        return text
    text = _SPACED.sub(
        lambda m: f"{NARROW_NBSP}{m.group(1)}" if m.group(1) else f"{m.group(2)}{NARROW_NBSP}",
        text,
    )

    def spaced(match: re.Match[str]) -> str:
        mark = match.group(1)
        if mark == ":" and match.group(0) == ":":  # "x: y" in French is a label: left alone
            return mark
        return f"{NARROW_NBSP}{mark}"

    return _PUNCTUATION.sub(spaced, text)
