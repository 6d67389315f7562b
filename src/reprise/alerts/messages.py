"""Alert messages in the plan's language: what failed, since when, the priority, the root
cause or the services behind it, and the first step of the service's procedure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reprise.plan.model import Plan, Service
from reprise.plan.steps import (
    CommandStep,
    EvidenceStep,
    ManualStep,
    NotifyStep,
    RestoreStep,
    Step,
    WaitCheckStep,
)
from reprise.plan.units import format_duration


@dataclass(frozen=True)
class Notification:
    """A message for the contacts of some roles."""

    kind: str
    """problem, escalation, recovery, flapping, stable, digest or test."""
    roles: tuple[str, ...]
    subject: str
    body: str
    alert_id: int | None = None
    service: str | None = None


TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "down": "DOWN",
        "degraded": "DEGRADED",
        "up": "RECOVERED",
        "unknown": "UNKNOWN",
        "flapping": "FLAPPING",
        "stable": "STABLE AGAIN",
        "what": "What failed",
        "since": "Since",
        "priority": "Priority",
        "response": "expected response within {response}",
        "next_business_day": "handled the next business day",
        "impacted": "Also affected because they depend on it",
        "root": "Root cause",
        "root_line": "{name} is down; this alert is held back for it",
        "first_step": "First step of the procedure",
        "no_procedure": "(no procedure in the plan)",
        "ack": "Acknowledge (stops escalation)",
        "escalation": "Reminder {level}: not acknowledged after {elapsed}; now also sent to "
        "{roles}.",
        "recovered": "{name} is up again after {duration}.",
        "recovered_impacted": "It had been affected by the failure of {root}.",
        "still_down": "Still down",
        "flapping_body": "{name} changed state {count} times in {window}. Alerts for it "
        "are paused until it has been stable for {window}. Last state: "
        "{state}.",
        "stable_body": "{name} has been stable for {window}; its state is now {state}.",
        "digest_subject": "[P3] Digest: {count} minor problem(s)",
        "digest_intro": "Minor (P3) problems since the last digest:",
        "digest_open": "open",
        "digest_resolved": "resolved at {at}",
        "test_subject": "Reprise test message",
        "test_body": "This is a test of the alerting of {org} for role {role}. No action needed.",
        "command": "Run: {command}",
        "restore": "Restore {service} from backup {backup}",
        "pitr": "Point-in-time recovery of {service}",
        "wait_check": "Wait until the checks of {service} pass",
    },
    "fr": {
        "down": "EN PANNE",
        "degraded": "DÉGRADÉ",
        "up": "RÉTABLI",
        "unknown": "INCONNU",
        "flapping": "INSTABLE",
        "stable": "DE NOUVEAU STABLE",
        "what": "Ce qui a échoué",
        "since": "Depuis",
        "priority": "Priorité",
        "response": "réponse attendue sous {response}",
        "next_business_day": "traité le jour ouvré suivant",
        "impacted": "Également touchés car ils en dépendent",
        "root": "Cause racine",
        "root_line": "{name} est en panne ; cette alerte est retenue à son profit",
        "first_step": "Première étape de la procédure",
        "no_procedure": "(pas de procédure dans le plan)",
        "ack": "Acquitter (arrête l'escalade)",
        "escalation": "Relance {level} : non acquittée après {elapsed} ; envoyée aussi à {roles}.",
        "recovered": "{name} fonctionne de nouveau, après {duration} d'interruption.",
        "recovered_impacted": "Il était touché par la panne de {root}.",
        "still_down": "Toujours en panne",
        "flapping_body": "{name} a changé d'état {count} fois en {window}. Ses alertes sont "
        "suspendues jusqu'à ce qu'il reste stable pendant {window}. Dernier "
        "état : {state}.",
        "stable_body": "{name} est stable depuis {window} ; son état est maintenant {state}.",
        "digest_subject": "[P3] Récapitulatif : {count} problème(s) mineur(s)",
        "digest_intro": "Problèmes mineurs (P3) depuis le dernier récapitulatif :",
        "digest_open": "en cours",
        "digest_resolved": "résolu à {at}",
        "test_subject": "Message de test Reprise",
        "test_body": "Ceci est un test des alertes de {org} pour le rôle {role}. Aucune "
        "action n'est nécessaire.",
        "command": "Exécuter : {command}",
        "restore": "Restaurer {service} depuis la sauvegarde {backup}",
        "pitr": "Restauration à un instant donné de {service}",
        "wait_check": "Attendre que les contrôles de {service} passent",
    },
}


class Writer:
    """Writes the messages of one plan, in its language and time zone."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.text = TEXTS[plan.organisation.language]
        self.zone = ZoneInfo(plan.organisation.timezone)

    def when(self, moment: datetime) -> str:
        """A moment in the plan's time zone."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def label(self, service: Service) -> str:
        """``Name (id)``."""
        return f"{service.name} ({service.id})"

    def step(self, step: Step) -> str:
        """One procedure step in a sentence."""
        match step:
            case ManualStep() | NotifyStep():
                text = step.text
            case CommandStep():
                text = self.text["command"].format(command=step.command)
            case RestoreStep():
                key = "pitr" if step.pitr else "restore"
                text = self.text[key].format(service=step.service, backup=step.backup)
            case WaitCheckStep():
                text = self.text["wait_check"].format(service=step.service)
            case EvidenceStep():
                text = ", ".join(step.paths)
        return f"{step.title}: {text}" if step.title else text

    def _priority(self, service: Service) -> str:
        level = service.effective_priority
        response = getattr(self.plan.priorities, level).response
        if isinstance(response, timedelta):
            return f"{level} ({self.text['response'].format(response=format_duration(response))})"
        return f"{level} ({self.text['next_business_day']})"

    def problem(
        self,
        service: Service,
        state: str,
        since: datetime,
        failures: Sequence[str],
        impacted: Sequence[Service],
        alert_id: int,
    ) -> tuple[str, str]:
        """Subject and body of a new problem."""
        text = self.text
        subject = f"[{service.effective_priority}] {text[state]} — {self.label(service)}"
        lines = [f"{text['what']}:"]
        lines += [f"  - {failure}" for failure in failures] or ["  -"]
        lines += [
            f"{text['since']}: {self.when(since)}",
            f"{text['priority']}: {self._priority(service)}",
        ]
        if impacted:
            lines.append(f"{text['impacted']}:")
            lines += [f"  - {self.label(other)}" for other in impacted]
        first = self.step(service.procedure[0]) if service.procedure else text["no_procedure"]
        lines += [f"{text['first_step']}: {first}", f"{text['ack']}: reprise alert ack {alert_id}"]
        return subject, "\n".join(lines)

    def escalation(
        self, subject: str, body: str, level: int, elapsed: timedelta, roles: Sequence[str]
    ) -> tuple[str, str]:
        """A reminder of an unacknowledged problem."""
        note = self.text["escalation"].format(
            level=level, elapsed=format_duration(elapsed), roles=", ".join(roles)
        )
        return subject, f"{note}\n\n{body}"

    def recovery(
        self,
        service: Service,
        since: datetime,
        now: datetime,
        root: Service | None,
        still_down: Sequence[Service],
    ) -> tuple[str, str]:
        """Subject and body of a recovery."""
        text = self.text
        duration = format_duration(timedelta(seconds=round((now - since).total_seconds())))
        subject = f"[{service.effective_priority}] {text['up']} — {self.label(service)}"
        lines = [
            text["recovered"].format(name=self.label(service), duration=duration),
            f"{text['since']}: {self.when(since)} → {self.when(now)}",
        ]
        if root is not None:
            lines.append(text["recovered_impacted"].format(root=self.label(root)))
        if still_down:
            lines.append(
                f"{text['still_down']}: " + ", ".join(self.label(other) for other in still_down)
            )
        return subject, "\n".join(lines)

    def flapping(self, service: Service, count: int, state: str) -> tuple[str, str]:
        """The one message sent when a service starts flapping."""
        window = format_duration(self.plan.alerting.flapping.window)
        subject = f"[{service.effective_priority}] {self.text['flapping']} — {self.label(service)}"
        return subject, self.text["flapping_body"].format(
            name=self.label(service), count=count, window=window, state=self.text[state]
        )

    def stable(self, service: Service, state: str) -> tuple[str, str]:
        """The message sent when a flapping service has settled."""
        window = format_duration(self.plan.alerting.flapping.window)
        subject = (
            f"[{service.effective_priority}] {self.text['stable']} — "
            f"{self.label(service)} ({self.text[state]})"
        )
        return subject, self.text["stable_body"].format(
            name=self.label(service), window=window, state=self.text[state]
        )

    def digest(
        self, items: Sequence[tuple[Service, str, datetime, datetime | None]]
    ) -> tuple[str, str]:
        """One digest of minor problems: (service, message, opened, resolved) each."""
        text = self.text
        lines = [text["digest_intro"]]
        for service, message, opened, resolved in items:
            status = (
                text["digest_resolved"].format(at=self.when(resolved))
                if resolved
                else text["digest_open"]
            )
            lines.append(
                f"  - {self.label(service)}: {message} ({text['since']} "
                f"{self.when(opened)}; {status})"
            )
        return text["digest_subject"].format(count=len(items)), "\n".join(lines)

    def test(self, role: str) -> tuple[str, str]:
        """The `reprise alert test` message."""
        return self.text["test_subject"], self.text["test_body"].format(
            org=self.plan.organisation.name, role=role
        )
