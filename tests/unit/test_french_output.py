"""What a French reader gets: no English word leaking out of the catalog or the report
templates, French typography (a narrow no-break space before ``: ; ! ?`` and ``%``, a
decimal comma), and one spelling of durations, numbers, sizes and times for every output
(``reprise.words.format``).

Data is not Reprise's to translate (names, check messages, commands): samples below are
French or neutral, placeholders are left empty when words are checked, and code spans
(`…`) and flags (``--yes``) are skipped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from reprise.reports.incident import (
    Action,
    Event,
    FollowUp,
    Header,
    IncidentView,
    Objectives,
    Row,
    Run,
    RunStep,
    SentReport,
    TaskRef,
    WaitingLine,
    Worded,
    markdown_text,
    render_incident,
)
from reprise.reports.wording import word_parts
from reprise.restore.report import Report, Step, render_markdown
from reprise.words import CATALOG, placeholders
from reprise.words.format import (
    NARROW_NBSP,
    day,
    duration,
    number,
    percent,
    size,
    typography,
    when,
)

_ENGLISH = """
    the and with without check checks checked pass passed passes sent send failed fail
    failure report reports reported down up not no yes of to is are was were has have had
    been for from by into onto after before since until still waiting wait run runs running
    step steps done ongoing closed unknown degraded notify expected found skipped killed
    target time backup backups restore restored drill error none nobody nothing every all
    this that which when where what while its it at please cannot could should would will
    recovered recovery working partly pending started finished stopped confirmed refused
    handled within business next day days hours minutes seconds objective met
"""
ENGLISH_WORDS = frozenset(_ENGLISH.split())
"""English words that never appear in French prose (no ``on``, ``a``, ``or``, ``test``,
``message``, ``service``, ``incident``: French words too)."""

START = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 08:00 in Paris
CODE_SPAN = re.compile(r"`[^`]*`|--[a-z][a-z-]*")
"""Code spans and a door's flags (``--yes``): typed as they are, in any language."""
WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+")
SPACE_BEFORE_MARK = re.compile(r"[ \u00a0][:;!?%]")
NO_SPACE_BEFORE_MARK = re.compile(r"[^\s\u202f][;!?]|[^\u202f]%")
DATA_COLON = ("include_secrets: true",)
"""Colons that belong to data in French texts (a YAML setting to type as it is)."""


def english_words(text: str) -> list[str]:
    """The English words of ``text``, code spans and flags aside."""
    return [
        word for word in WORD.findall(CODE_SPAN.sub(" ", text)) if word.lower() in ENGLISH_WORDS
    ]


def typography_faults(text: str) -> list[str]:
    """The French punctuation faults of ``text`` (with some context each)."""
    faults = []
    for pattern in (SPACE_BEFORE_MARK, NO_SPACE_BEFORE_MARK):
        for match in pattern.finditer(text):
            faults.append(text[max(0, match.start() - 20) : match.end() + 10])
    return faults


def blank(text: str) -> str:
    """A catalog text with its placeholders filled with nothing."""
    return text.format(**dict.fromkeys(placeholders(text), ""))


# The catalog.


def test_no_french_text_of_the_catalog_holds_an_english_word() -> None:
    leaks = {
        key: english_words(blank(text))
        for key, text in CATALOG["fr"].items()
        if english_words(blank(text))
    }
    assert leaks == {}


def test_french_texts_of_the_catalog_follow_french_punctuation() -> None:
    faults = {}
    for key, text in CATALOG["fr"].items():
        shown = CODE_SPAN.sub("", text)
        for data in DATA_COLON:
            shown = shown.replace(data, "")
        found = typography_faults(shown)
        # A colon right after a word or a placeholder and before a space is French
        # punctuation too (a probe's "{target}\u202f: message" as well).
        found += [match.group(0) for match in re.finditer(r"[^\s\u202f]:(?=\s|$)", shown)]
        if found:
            faults[key] = found
    assert faults == {}


def test_french_sentences_set_a_narrow_space_where_english_sets_none() -> None:
    assert CATALOG["fr"]["report.colon"] == f"{NARROW_NBSP}:"
    assert CATALOG["en"]["report.colon"] == ":"
    assert "Point de situation\u202f: incident" in CATALOG["fr"]["incident.progress_subject"]
    assert CATALOG["fr"]["alert.titled_step"] == "{title}\u202f: {text}"
    assert CATALOG["fr"]["probe.ping_loss"] == "{message}\u202f; {loss}\u202f% de perte"
    # Data keeps its colons: a YAML setting, times, host:port.
    assert "(include_secrets: true)" in CATALOG["fr"]["runstep.secrets_included"]


# The reports.


def _row(
    ident: str, name: str, state: str, resolved: timedelta | None, criticality: str = "major"
) -> Row:
    return Row(
        id=ident,
        name=name,
        category="réseau",
        criticality=criticality,
        priority="P1" if criticality == "critical" else "P2",
        initial_state="down",
        state=state,
        target_at=START + timedelta(hours=4),
        resolved_at=None if resolved is None else START + resolved,
        problem="check: SSH: connexion refusée",
        actions=[
            Worded("Redémarrer le routeur"),
            Worded(
                f"{ident}: checks pass (at most 15 min)",
                [["steptitle.wait_check", {"service": ident, "limit": "15 min"}]],
            ),
        ],
        rto=timedelta(hours=4),
        time_to_recover=resolved,
        elapsed=timedelta(hours=6, minutes=40),
        met=None if resolved is None else resolved <= timedelta(hours=4),
        history=[
            (START, "down", "check: SSH: connexion refusée"),
            *([(START + resolved, state, "check: checks pass")] if resolved else []),
        ],
    )


def _timeline() -> list[Event]:
    def event(minutes: int, kind: str, details: dict[str, object], text: str = "") -> Event:
        return Event(START + timedelta(minutes=minutes), "Mohamed", kind, text or kind, details)

    sent = {"notification": "problem", "role": "lead", "contact": "mailto://astreinte"}
    return [
        event(0, "service", {"service": "router", "state": "down", "source": "check: refusée"}),
        event(1, "update", {"cause": "Coupure du secteur"}),
        event(2, "update", {"title": "Coupure électrique"}),
        event(2, "update", {"commander": "lead"}),
        event(3, "target", {"service": "router", "target_at": "2026-11-26T11:00:00+00:00"}),
        event(4, "notification", {**sent, "ok": True, "subject": "[P1] EN PANNE — Routeur"}),
        event(4, "notification", {**sent, "ok": False, "error": "refusé", "subject": "[P1]"}),
        event(5, "report", {"report": "progress", "audiences": ["lead"]}),
        event(5, "report", {"report": "progress", "audiences": []}),
        event(6, "task", {"task": 1, "from": "todo", "to": "doing"}),
        event(7, "runbook", {"event": "started", "scenario": "coupure", "title": "Coupure"}),
        event(
            8,
            "runbook",
            {
                "event": "step",
                "scenario": "coupure",
                "step": 1,
                "total": 2,
                "title": "notify lead: Reprise",
                "title_words": [["steptitle.notify", {"roles": "lead", "text": "Reprise"}]],
                "status": "done",
                "took": "12.5",
                "message": [["runstep.sent", {"count": 2, "roles": "lead"}]],
            },
        ),
        event(9, "runbook", {"event": "finished", "scenario": "coupure"}),
        event(30, "state", {"service": "router", "from": "down", "to": "up",
                            "source": "checks pass"}),
        event(31, "note", {}, "Onduleur remplacé"),
        event(400, "closed", {"note": None}),
        event(401, "report", {"report": "final", "files": ["rapport.md"], "sent": 1,
                              "contacts": 2}),
    ]  # fmt: skip


def _runs() -> list[Run]:
    notify = RunStep(
        0,
        "notify lead: Reprise",
        "done",
        START + timedelta(minutes=7),
        START + timedelta(minutes=7, seconds=6),
        "sent to 2 contact(s) of lead",
        [["runstep.sent", {"count": 2, "roles": "lead"}]],
        [["steptitle.notify", {"roles": "lead", "text": "Reprise"}]],
    )
    wait = RunStep(
        1,
        "router: checks pass (at most 15 min)",
        "waiting",
        START + timedelta(minutes=8),
        START + timedelta(minutes=20, seconds=54),
        "waiting for a person to confirm",
        [["runstep.waiting", {"yes": "--yes"}]],
        [["steptitle.wait_check", {"service": "router", "limit": "15 min"}]],
    )
    return [Run("coupure", "waiting", START + timedelta(minutes=7), [notify, wait])]


def incident_view(kind: str) -> IncidentView:
    """An incident with every kind of row, entry, run, follow-up and action."""
    router = _row("router", "Routeur", "up", timedelta(minutes=30), "critical")
    storage = _row("storage", "Stockage", "up", timedelta(hours=5, minutes=10))
    windows = _row("windows", "Serveur Windows", "degraded", None, "minor")
    rows = [router, storage, windows]
    return IncidentView(
        kind=kind,
        incident=Header(
            1,
            "Coupure électrique",
            "closed" if kind == "final" else "open",
            "P1",
            START,
            START + timedelta(hours=6, minutes=40) if kind == "final" else None,
            "monitor",
            "Coupure du secteur",
            [SentReport(START + timedelta(hours=4), "progress", "fr")],
        ),
        organisation="Infrastructure",
        timezone="Europe/Paris",
        now=START + timedelta(hours=6, minutes=41),
        duration=timedelta(days=1, hours=3),
        commander="Responsable",
        objectives=Objectives(timedelta(days=1), timedelta(hours=4), 99.5),
        responses={"P1": timedelta(minutes=15), "P2": timedelta(hours=1, minutes=5), "P3": None},
        rows=rows,
        strategy=[("P1", [router]), ("P2", [storage]), ("P3", [windows])],
        roles=[("Responsable", ["Mohamed"], ["Piloter la reprise"]), ("Astreinte", [], [])],
        every=timedelta(hours=4),
        audiences=["Responsable"],
        timeline=_timeline(),
        runs=_runs(),
        followups=[
            FollowUp("service", {"service": "windows", "state": "degraded"}),
            FollowUp(
                "task",
                {
                    "id": 2,
                    "service": "windows",
                    "title": "windows: checks pass (at most 30 min)",
                    "status": "todo",
                    "role": "lead",
                },
                {"title": [["steptitle.wait_check", {"service": "windows", "limit": "30 min"}]]},
            ),
            FollowUp(
                "skipped",
                {"id": 3, "service": "router", "title": "Recharger", "note": "intacte"},
            ),
            FollowUp(
                "run",
                {"scenario": "coupure", "step": 2, "message": "waiting for a person to confirm"},
                {"message": [["runstep.waiting", {"yes": "--yes"}]]},
            ),
        ],
        actions=[
            Action("windows", "degraded", None, "lead", ["Mohamed"]),
            Action(
                "storage",
                "down",
                TaskRef(
                    4,
                    "storage: checks pass (at most 60 min)",
                    "doing",
                    [["steptitle.wait_check", {"service": "storage", "limit": "60 min"}]],
                ),
                "lead",
                [],
            ),
            Action("router", "down", TaskRef(5, "Redémarrer", "todo"), None, []),
        ],
        waiting=[WaitingLine("windows", ["router", "storage"])],
    )


class _Text(HTMLParser):
    """The text of an HTML page, the style sheet aside."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._style = tag == "style"
        self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self._style = False
        self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.parts.append(data)


def shown_text(text: str, fmt: str) -> str:
    if fmt == "md":
        return text.replace("\\", "")
    parser = _Text()
    parser.feed(text)
    return "".join(parser.parts)


REPORTS = [("final", "md"), ("final", "html"), ("progress", "md"), ("progress", "html")]


@pytest.mark.parametrize(("kind", "fmt"), REPORTS)
def test_a_french_incident_report_holds_no_english_word(kind: str, fmt: str) -> None:
    text = shown_text(render_incident(incident_view(kind), fmt, "fr"), fmt)
    assert english_words(text) == [], text


@pytest.mark.parametrize(("kind", "fmt"), REPORTS)
def test_a_french_incident_report_follows_french_typography(kind: str, fmt: str) -> None:
    text = shown_text(render_incident(incident_view(kind), fmt, "fr"), fmt)
    # The one ASCII " :" left is in data (the plan's check message of no space before):
    # the sample has none, so every fault is Reprise's.
    assert typography_faults(text) == [], text
    assert not re.search(r"\d\.\d", text), "a decimal point in French"
    if kind == "final" or fmt == "html":
        assert f"99,5{NARROW_NBSP}%" in text
        assert "Prise en charge le jour ouvré suivant" in text
        assert "1 h 05 min" in text and "1 j 3 h" in text and "5 h 10 min" in text
    assert "26/11/2026 08:00" in text  # day first, in the plan's time zone


def test_the_english_incident_report_keeps_its_forms() -> None:
    text = render_incident(incident_view("final"), "md", "en")
    assert "| Target availability | 99.5 % |" in text
    assert "Handled within next business day; recovered in dependency order." in text
    assert "- Duration: 1 d 3 h" in text and "2026-11-26 08:00" in text
    assert "in 12.5 s" in text and "expected back by 2026-11-26T11:00:00+00:00" in text


def test_a_french_report_words_the_facts_of_its_entries() -> None:
    text = render_incident(incident_view("final"), "md", "fr")
    assert f"router{NARROW_NBSP}: retour prévu le 26/11/2026 12:00" in text
    assert f"{NARROW_NBSP}: réussie en 12,5 s — envoyé à 2 contact(s) de lead" in text
    assert f"envoyée{NARROW_NBSP}: [P1] EN PANNE — Routeur" in text  # no Markdown escapes


def test_a_restore_report_in_french() -> None:
    report = Report(
        "drill",
        "base",
        "base-physique",
        "local",
        "20261126T070000Z-ab12",
        START,
        "/srv/pg",
        started_at=START + timedelta(hours=1, minutes=30),
    )
    report.steps += [
        Step("récupération", START, 72.4, "ok", None, 1_572_864),
        Step("décompression", START, 0.42, "failed", "disque plein", None),
    ]
    report.checks.append({"name": "tables", "result": "ok", "detail": None})
    report.finish("passed")
    report.finished_at = report.started_at + timedelta(seconds=83.25)
    text = render_markdown(report, "fr")
    assert english_words(text) == [], text
    assert typography_faults(text) == [], text
    for line in (
        f"- Sauvegarde{NARROW_NBSP}: 20261126T070000Z-ab12 (local, 26/11/2026 07:00:00 UTC"
        f"{NARROW_NBSP}; âge à la restauration{NARROW_NBSP}: 1 h 30 min)",
        f"- Durée{NARROW_NBSP}: 1 min 23 s",
        f"- Résultat{NARROW_NBSP}: **réussi**",
        "| récupération | 1 min 12 s | 1,5 Mio | réussi |  |",
        "| décompression | 0,42 s |  | échec | disque plein |",
    ):
        assert line in text, (line, text)
    english = render_markdown(report, "en")
    assert "- Result: **passed**" in english and "| 1.5MiB | ok |" in english
    assert "| 0.42 s |  | failed |" in english
    assert "(local, 2026-11-26 07:00:00 UTC; age at restore: 1 h 30 min)" in english


# Markdown escapes.


def test_markdown_escapes_only_what_would_change_the_layout() -> None:
    assert markdown_text("[P1] EN PANNE — Routeur") == "[P1] EN PANNE — Routeur"
    assert markdown_text("[lien](javascript:x) ![i](s) [a][b] [r]: u") == (
        "[lien\\](javascript:x) ![i\\](s) [a\\][b] [r\\]: u"
    )
    assert markdown_text(f"Statut{NARROW_NBSP}: clos\n ok") == f"Statut{NARROW_NBSP}: clos ok"


# The shared spellings.


def test_durations_read_the_same_everywhere() -> None:
    for seconds, french, english in (
        (0, "0 s", "0 s"),
        (45, "45 s", "45 s"),
        (72, "1 min 12 s", "1 min 12 s"),
        (69, "1 min 09 s", "1 min 09 s"),
        (3900, "1 h 05 min", "1 h 05 min"),
        (3600, "1 h", "1 h"),
        (2 * 86400 + 3 * 3600, "2 j 3 h", "2 d 3 h"),
    ):
        assert duration(seconds, "fr") == french
        assert duration(timedelta(seconds=seconds), "en") == english
    assert duration(12.34, "fr", decimals=1) == "12,3 s"
    assert duration(72.4, "fr", decimals=1) == "1 min 12 s"
    assert duration(None, "fr") == "-" and duration(-5, "en") == "0 s"


def test_numbers_percentages_sizes_and_times() -> None:
    assert percent(99.5, "fr") == "99,5\u202f%" and percent(99.5, "en") == "99.5 %"
    assert percent(99.0, "fr") == "99\u202f%" and percent(12.345, "fr", 1) == "12,3\u202f%"
    assert number(1234567.5, "fr") == "1\u202f234\u202f567,5" and number(1234, "fr") == "1234"
    assert number(1234567.5, "en") == "1234567.5" and number(1, "fr", 1) == "1,0"
    assert size(1536, "fr") == "1,5 Kio" and size(1536, "en") == "1.5KiB"
    assert size(512, "fr") == "512 o" and size(512, "en") == "512B"
    moment = datetime(2026, 11, 26, 11, 34, 56, tzinfo=UTC)
    assert when(moment, "fr", "Europe/Paris") == "26/11/2026 12:34"
    assert when(moment, "en", "Europe/Paris") == "2026-11-26 12:34"
    assert when(moment, "fr", "Europe/Paris", seconds=True, zone=True) == "26/11/2026 12:34:56 CET"
    assert day(moment.date(), "fr") == "26/11/2026"


def test_typography_spaces_punctuation_not_data() -> None:
    assert typography("Statut : clos ; fini ! Vraiment ? 5 %", "fr") == (
        "Statut\u202f: clos\u202f; fini\u202f! Vraiment\u202f? 5\u202f%"
    )
    for data in ("12:34", "10.0.0.1:22", "https://exemple.fr/a?b", "x: y"):
        assert typography(data, "fr") == data
    assert typography("Status : done ;", "en") == "Status : done ;"


def test_measured_facts_of_stored_parts_take_the_language_s_decimals() -> None:
    parts = [["runstep.exit", {"code": 0}], ["runstep.in_seconds", {"seconds": "12.5"}]]
    assert word_parts("fr", parts) == "code de sortie 0 en 12,5 s"
    assert word_parts("en", parts) == "exit 0 in 12.5 s"
    assert word_parts("fr", [["runstep.figure_target", {"value": "14.3"}]]) == "cible 14.3"
