"""``reprise plan import``: turn a continuity plan written as a Markdown document (the
seed PCRA: état des lieux, stratégie, procédures, rôles, communication tables) into a
``reprise.yaml``, saying plainly what could not be mapped.

The Markdown is parsed with markdown-it-py (CommonMark + tables); sections are found by
their headings and columns by their header names, in French or English."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from reprise.errors import InputError
from reprise.plan.units import format_duration

_SECTIONS = {
    "objectives": ("objectif", "objective"),
    "inventory": ("etat des lieux", "inventory", "current state", "situation"),
    "strategy": ("strategie", "strategy"),
    "procedures": ("procedure",),
    "evolution": ("evolution", "progress"),
    "roles": ("role",),
    "communication": ("communication",),
}
_CRITICALITY = {
    "critique": "critical",
    "critical": "critical",
    "majeur": "major",
    "majeure": "major",
    "major": "major",
    "mineur": "minor",
    "mineure": "minor",
    "minor": "minor",
}
_UNITS = {
    "minute": 60,
    "min": 60,
    "heure": 3600,
    "hour": 3600,
    "h": 3600,
    "jour": 86400,
    "day": 86400,
    "semaine": 604800,
    "week": 604800,
}
_STOPWORDS = {
    "serveur",
    "server",
    "de",
    "des",
    "du",
    "la",
    "le",
    "les",
    "et",
    "carte",
    "reseau",
    "network",
    "card",
    "disques",
    "the",
    "and",
    "of",
}


def _plain(text: str) -> str:
    """Lowercase, without accents, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", _plain(text)) if word not in _STOPWORDS}


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _plain(text.split(":")[0])).strip("-")
    return (slug or "service")[:40].strip("-")


@dataclass
class Table:
    """A Markdown table under a heading."""

    heading: str
    line: int
    header: list[str]
    rows: list[list[str]]

    def column(self, *names: str) -> int | None:
        """Index of the first column whose header contains one of the names."""
        for index, title in enumerate(self.header):
            if any(name in _plain(title) for name in names):
                return index
        return None


@dataclass
class ImportResult:
    """The plan written as YAML, and what the document had that it could not carry."""

    data: dict[str, Any]
    unmapped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def yaml_text(self, source: Path) -> str:
        """The plan file, with a header comment listing what needs a person."""
        lines = [
            f"# Imported from {source.name} by `reprise plan import`.",
            "# Review it, add checks and contacts, then `reprise plan validate`.",
        ]
        if self.notes:
            lines.append("#\n# Mapped:")
            lines.extend(f"#   - {note}" for note in self.notes)
        if self.unmapped:
            lines.append("#\n# Not mapped (to do by hand):")
            lines.extend(f"#   - {item}" for item in self.unmapped)
        body = yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=100)
        return "\n".join(lines) + "\n\n" + body


def read_tables(text: str) -> list[Table]:
    """Every table of the document with the heading it is under."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    tables: list[Table] = []
    heading = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "heading_open":
            heading = tokens[index + 1].content
        elif token.type == "table_open":
            line = (token.map[0] + 1) if token.map else 0
            header: list[str] = []
            rows: list[list[str]] = []
            current: list[str] = []
            while tokens[index].type != "table_close":
                kind = tokens[index].type
                if kind == "tr_open":
                    current = []
                elif kind == "inline":
                    current.append(tokens[index].content.strip())
                elif kind == "tr_close":
                    if header:
                        rows.append(current)
                    else:
                        header = current
                index += 1
            tables.append(Table(heading, line, header, [r for r in rows if any(r)]))
        index += 1
    return tables


def _section(table: Table) -> str | None:
    title = _plain(table.heading)
    for name, keys in _SECTIONS.items():
        if any(key in title for key in keys):
            return name
    return None


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def match_service(name: str, services: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The service an element name refers to: same name, or all its significant words in
    the service's name (``OpenVPN`` → ``OpenVPN : Carte réseau``)."""
    wanted = _plain(name)
    for service in services:
        if _plain(service["name"]) == wanted:
            return service
    words = _words(name)
    if not words:
        return None
    candidates = [s for s in services if words <= _words(s["name"])]
    return candidates[0] if len(candidates) == 1 else None


def parse_every(text: str) -> timedelta | None:
    """'Toutes les 4 heures', 'every 30 minutes', 'quotidien' → a period."""
    plain = _plain(text)
    if any(word in plain for word in ("quotidien", "daily", "chaque jour")):
        return timedelta(days=1)
    if "hebdomadaire" in plain or "weekly" in plain:
        return timedelta(weeks=1)
    found = re.search(
        r"(\d+)\s*(minutes?|min|heures?|hours?|h|jours?|days?|semaines?|weeks?)", plain
    )
    if found:
        unit = found.group(2).rstrip("s") if found.group(2) not in ("h", "min") else found.group(2)
        return timedelta(seconds=int(found.group(1)) * _UNITS[unit])
    if re.search(r"toutes les heures|every hour|hourly", plain):
        return timedelta(hours=1)
    return None


def _steps(action: str) -> list[dict[str, str]]:
    parts = [part.strip(" .") for part in re.split(r"[,;]\s+|\.\s+", action)]
    return [{"kind": "manual", "text": part[0].upper() + part[1:]} for part in parts if part]


def _role_id(responsibility: str, taken: set[str]) -> tuple[str, str]:
    plain = _plain(responsibility)
    if "responsable" in plain or "lead" in plain:
        base, permission = "recovery-lead", "admin"
    elif "assist" in plain or "resolution" in plain:
        base, permission = "responders", "responder"
    elif "communi" in plain or "supervis" in plain:
        base, permission = "communication", "viewer"
    else:
        base, permission = _slug(" ".join(responsibility.split()[:3])) or "role", "viewer"
    role_id, number = base, 2
    while role_id in taken:
        role_id, number = f"{base}-{number}", number + 1
    return role_id, permission


def import_pcra(path: Path) -> ImportResult:
    """Read a PCRA written in Markdown and build the plan it describes."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(
            f"{path}: cannot read ({error.strerror})", hint="give the path of a Markdown file"
        ) from error
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: not UTF-8 text", hint="save the document as UTF-8 Markdown"
        ) from None
    tables = read_tables(text)
    by_section: dict[str, list[Table]] = {}
    result = ImportResult({})
    for table in tables:
        section = _section(table)
        if section is None:
            result.unmapped.append(
                f"line {table.line}: table under '{table.heading}' (no known section)"
            )
        else:
            by_section.setdefault(section, []).append(table)
    if "inventory" not in by_section and "procedures" not in by_section:
        raise InputError(
            f"{path}: no 'état des lieux' or 'procédures' table found",
            hint="the document needs a Markdown table of its elements under "
            "a heading such as '## État des lieux'",
        )
    services = _services(by_section, result)
    _strategy(by_section, services, result)
    _procedures(by_section, services, result)
    roles = _roles(by_section, result)
    communication = _communication(by_section, roles, result)
    objectives = _objectives(by_section, result)
    if "evolution" in by_section:
        result.notes.append(
            "évolution de la remise en route: measured live by Reprise "
            "during an incident (`reprise incident report`)"
        )
    owner = next((r["id"] for r in roles if r["permission"] == "admin"), None)
    for service in services:
        if owner:
            service["owner"] = owner
        result.unmapped.append(
            f"service {service['id']}: no checks (add them so Reprise can see it fail and recover)"
        )
    if services:
        result.unmapped.append(
            "dependencies: the document gives none; add depends_on "
            "(e.g. what sits behind the router) for the recovery order"
        )
    title = next(
        (line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("# ")),
        path.stem,
    )
    french = bool(re.search(r"[éèàç]|\b(le|la|les|des)\b", text[:2000]))
    result.data = {
        "version": 1,
        "organisation": {
            "name": title[:100],
            "language": "fr" if french else "en",
            "timezone": "Europe/Paris" if french else "UTC",
        },
        "objectives": objectives,
        "roles": roles,
        "communication": communication,
        "services": services,
    }
    result.unmapped.append(
        f"organisation.timezone: set to {result.data['organisation']['timezone']}; check it"
    )
    return result


def _services(by_section: dict[str, list[Table]], result: ImportResult) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = []
    for table in by_section.get("inventory", []):
        name_at = table.column("element", "service", "composant")
        category_at = table.column("categorie", "category")
        criticality_at = table.column("criticite", "criticality")
        if name_at is None:
            result.unmapped.append(f"line {table.line}: état des lieux without an 'Élément' column")
            continue
        for row in table.rows:
            name = _cell(row, name_at)
            if not name:
                continue
            criticality_text = _cell(row, criticality_at)
            criticality = _CRITICALITY.get(_plain(criticality_text))
            if criticality is None:
                result.unmapped.append(
                    f"{name}: criticality {criticality_text!r} unknown, set to major"
                )
                criticality = "major"
            service_id = _slug(name)
            taken = {s["id"] for s in services}
            number = 2
            base = service_id
            while service_id in taken:
                service_id, number = f"{base}-{number}", number + 1
            services.append(
                {
                    "id": service_id,
                    "name": name,
                    "category": " ".join(_cell(row, category_at).lower().split()) or "autre",
                    "criticality": criticality,
                }
            )
        result.notes.append(
            f"état des lieux: {len(table.rows)} elements → services "
            "(id, name, category, criticality)"
        )
        state_at = table.column("etat", "state")
        if state_at is not None:
            result.notes.append(
                "état (Défaillant, Fonctionnel…): live state, from checks during an incident"
            )
        if table.column("date", "resolution") is not None:
            result.notes.append(
                "date de résolution prévue: set per incident from the RTO "
                "(`reprise incident update N --target`)"
            )
    return services


def _strategy(
    by_section: dict[str, list[Table]], services: list[dict[str, Any]], result: ImportResult
) -> None:
    for table in by_section.get("strategy", []):
        priority_at = table.column("priorit")
        elements_at = table.column("element", "concern", "services")
        for row in table.rows:
            found = re.search(r"(?:priorit[eéy]|p)\s*(\d)", _plain(_cell(row, priority_at)))
            if not found or found.group(1) not in "123":
                result.unmapped.append(
                    f"stratégie: priority {_cell(row, priority_at)!r} not understood"
                )
                continue
            priority = f"P{found.group(1)}"
            for element in re.split(r"\s*[,;]\s*|\s+et\s+", _cell(row, elements_at)):
                if not element:
                    continue
                service = match_service(element, services)
                if service is None:
                    result.unmapped.append(
                        f"stratégie {priority}: element {element!r} matches no service"
                    )
                else:
                    service["priority"] = priority
        result.notes.append(
            "stratégie de reprise: priorities → services[].priority "
            "(the description stays in the document)"
        )


def _procedures(
    by_section: dict[str, list[Table]], services: list[dict[str, Any]], result: ImportResult
) -> None:
    for table in by_section.get("procedures", []):
        name_at = table.column("element", "service")
        action_at = table.column("action")
        if action_at is None:
            result.unmapped.append(f"line {table.line}: procédures without an 'Action' column")
            continue
        for row in table.rows:
            name = _cell(row, name_at)
            service = match_service(name, services)
            if service is None:
                result.unmapped.append(
                    f"procédure for {name!r}: matches no element of the état des lieux"
                )
                continue
            steps = _steps(_cell(row, action_at))
            if steps:
                service["procedure"] = steps
        result.notes.append(
            "procédures: each 'action de reprise' → manual steps of the service's procedure"
        )
        if table.column("probleme", "problem") is not None:
            result.unmapped.append(
                "procédures, column 'Problème': describes one past "
                "failure; Reprise records problems per incident"
            )


def _roles(by_section: dict[str, list[Table]], result: ImportResult) -> list[dict[str, Any]]:
    roles: list[dict[str, Any]] = []
    for table in by_section.get("roles", []):
        who_at = table.column("role", "membre", "member", "qui", "who")
        duty_at = table.column("responsabilit", "responsibilit")
        for row in table.rows:
            people = [
                p.strip()
                for p in re.split(r",|\s+et\s+|\s+and\s+|&", _cell(row, who_at))
                if p.strip()
            ]
            duty = _cell(row, duty_at).rstrip(" .")
            if not duty:
                result.unmapped.append(f"rôles: {', '.join(people)} without responsibilities")
                continue
            role_id, permission = _role_id(duty, {r["id"] for r in roles})
            roles.append(
                {
                    "id": role_id,
                    "title": duty[:120],
                    "permission": permission,
                    "responsibilities": [duty],
                    "members": [{"name": person} for person in people],
                }
            )
            if people:
                result.unmapped.append(
                    f"role {role_id}: add contacts (Apprise URLs) for " + ", ".join(people)
                )
        result.notes.append("rôles et responsabilités: each line → a role with its members")
    return roles


def _communication(
    by_section: dict[str, list[Table]], roles: list[dict[str, Any]], result: ImportResult
) -> dict[str, Any]:
    communication: dict[str, Any] = {}
    for table in by_section.get("communication", []):
        what_at = table.column("communication", "type")
        when_at = table.column("frequence", "frequency")
        for row in table.rows:
            what = _plain(_cell(row, what_at))
            period = parse_every(_cell(row, when_at))
            if ("progr" in what or "rapport" in what or "report" in what) and period:
                communication["progress_report_every"] = format_duration(period)
                result.notes.append(
                    f"communication: {_cell(row, what_at)} "
                    f"({_cell(row, when_at)}) → progress_report_every "
                    f"{format_duration(period)}"
                )
            elif "document" in what:
                result.notes.append(
                    f"communication: {_cell(row, what_at)} → kept by Reprise "
                    "for every incident (timeline, final report)"
                )
            else:
                result.unmapped.append(
                    f"communication: {_cell(row, what_at)!r} ({_cell(row, when_at)!r})"
                )
    if roles:
        communication["audiences"] = [role["id"] for role in roles]
        result.unmapped.append(
            "communication.audiences: set to every role; keep those who "
            "must receive the progress reports"
        )
    return communication


def _objectives(by_section: dict[str, list[Table]], result: ImportResult) -> dict[str, str]:
    text = " ".join(
        " ".join(row) for table in by_section.get("objectives", []) for row in table.rows
    )
    objectives = {"rpo": "24h", "rto": "4h", "uptime": "99.5%"}
    found_any = False
    for key in ("rpo", "rto"):
        match = re.search(
            rf"{key}\D{{0,20}}(\d+\s*(?:min|minutes?|h|heures?|hours?|j|jours?"
            r"|days?))",
            _plain(text),
        )
        if match:
            period = parse_every(match.group(1).replace(" j", " jour"))
            if period:
                objectives[key] = format_duration(period)
                found_any = True
    if by_section.get("objectives"):
        result.notes.append("objectifs: the descriptions stay in the document")
    if not found_any:
        result.unmapped.append(
            "objectives: the document gives no RPO/RTO figures; set to "
            "RPO 24h, RTO 4h, uptime 99.5 % — review them"
        )
    return objectives
