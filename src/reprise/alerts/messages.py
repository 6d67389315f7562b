"""Alert messages in the plan's language: what failed, since when, the priority, every
service behind it with its state, and the first step of the service's procedure. Every word
comes from the catalog (``reprise.words``): ``alert.*`` texts and ``step.<kind>``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from reprise.plan.model import Plan, Service
from reprise.plan.steps import Step
from reprise.words import say, words
from reprise.words.format import duration as spell_duration
from reprise.words.format import when as spell_when


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


class Writer:
    """Writes the messages of one plan, in its language and time zone."""

    def __init__(self, plan: Plan, ack_link: Callable[[int], str | None] | None = None) -> None:
        self.plan = plan
        self.ack_link = ack_link
        """Makes the signed link that acknowledges an alert from the web (None: no web)."""
        self.language = plan.organisation.language
        self.text = words(self.language, "alert")
        self.zone = ZoneInfo(plan.organisation.timezone)
        self.colon = say(self.language, "report.colon")
        """``:`` as the language writes it (French: after a narrow no-break space)."""

    def when(self, moment: datetime) -> str:
        """A moment in the plan's time zone, as the language writes dates."""
        return spell_when(moment, self.language, self.zone, seconds=True, zone=True)

    def duration(self, value: timedelta) -> str:
        """A duration as the language writes it (``1 h 05 min``)."""
        return spell_duration(value, self.language)

    def label(self, service: Service) -> str:
        """``Name (id)``."""
        return f"{service.name} ({service.id})"

    def step(self, step: Step) -> str:
        """One procedure step in a sentence: the catalog's ``step.<kind>`` text (for a
        point-in-time recovery, ``step.restore.pitr``) filled with the step's fields, lists
        joined with commas."""
        key = f"step.{step.kind}" + (".pitr" if getattr(step, "pitr", False) else "")
        fields = {
            name: ", ".join(map(str, value)) if isinstance(value, list) else value
            for name, value in dict(step).items()
        }
        text = say(self.language, key, **fields)
        if step.title:
            return say(self.language, "alert.titled_step", title=step.title, text=text)
        return text

    def _priority(self, service: Service) -> str:
        level = service.effective_priority
        response = getattr(self.plan.priorities, level).response
        if isinstance(response, timedelta):
            return f"{level} ({self.text['response'].format(response=self.duration(response))})"
        return f"{level} ({self.text['next_business_day']})"

    def problem(
        self,
        service: Service,
        state: str,
        since: datetime,
        failures: Sequence[str],
        dependents: Sequence[tuple[Service, str]],
        alert_id: int,
    ) -> tuple[str, str]:
        """Subject and body of a new problem; ``dependents`` are the services behind it,
        each with its state: down, degraded, pending (not confirmed yet) or up (still up)."""
        text = self.text
        subject = f"[{service.effective_priority}] {text[state]} — {self.label(service)}"
        lines = [f"{text['what']}{self.colon}"]
        lines += [f"  - {failure}" for failure in failures] or ["  -"]
        lines += [
            f"{text['since']}{self.colon} {self.when(since)}",
            f"{text['priority']}{self.colon} {self._priority(service)}",
        ]
        if dependents:
            lines.append(f"{text['dependents']}{self.colon}")
            lines += [
                f"  - {self.label(other)}{self.colon} {text['dependent_' + state]}"
                for other, state in dependents
            ]
        first = self.step(service.procedure[0]) if service.procedure else text["no_procedure"]
        lines += [
            f"{text['first_step']}{self.colon} {first}",
            f"{text['ack']}{self.colon} reprise alert ack {alert_id}",
        ]
        link = self.ack_link(alert_id) if self.ack_link is not None else None
        if link is not None:
            lines.append(f"{text['ack_link']}{self.colon} {link}")
        return subject, "\n".join(lines)

    def role_title(self, role_id: str) -> str:
        """A role as people know it: its title in the plan (its id when it has none)."""
        return next((role.title for role in self.plan.roles if role.id == role_id), role_id)

    def escalation(
        self,
        subject: str,
        body: str,
        level: int,
        elapsed: timedelta,
        roles: Sequence[str],
        told: Sequence[str] | None = None,
    ) -> tuple[str, str]:
        """A reminder of an unacknowledged problem: the problem's subject and body behind
        ``Reminder <level>``, and the roles this level adds by their titles: ``roles`` (every
        role told at this level) less ``told`` (the roles that had the alert already; None:
        not known, every role is named)."""
        added = [role for role in roles if role not in (told or ())]
        elapsed_text = self.duration(elapsed)
        if added:
            titles = ", ".join(self.role_title(role) for role in added)
            note = self.text["escalation"].format(level=level, elapsed=elapsed_text, roles=titles)
        else:
            note = self.text["escalation_again"].format(level=level, elapsed=elapsed_text)
        reminder = self.text["escalation_subject"].format(level=level, subject=subject)
        return reminder, f"{note}\n\n{body}"

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
        duration = self.duration(timedelta(seconds=round((now - since).total_seconds())))
        subject = f"[{service.effective_priority}] {text['up']} — {self.label(service)}"
        lines = [
            text["recovered"].format(name=self.label(service), duration=duration),
            f"{text['outage']}{self.colon} "
            + text["outage_range"].format(start=self.when(since), end=self.when(now)),
        ]
        if root is not None:
            lines.append(text["recovered_impacted"].format(root=self.label(root)))
        if still_down:
            lines.append(
                f"{text['still_down']}{self.colon} "
                + ", ".join(self.label(other) for other in still_down)
            )
        return subject, "\n".join(lines)

    def flapping(self, service: Service, count: int, state: str) -> tuple[str, str]:
        """The one message sent when a service starts flapping."""
        window = self.duration(self.plan.alerting.flapping.window)
        subject = f"[{service.effective_priority}] {self.text['flapping']} — {self.label(service)}"
        return subject, self.text["flapping_body"].format(
            name=self.label(service), count=count, window=window, state=self.text[state]
        )

    def stable(self, service: Service, state: str) -> tuple[str, str]:
        """The message sent when a flapping service has settled."""
        window = self.duration(self.plan.alerting.flapping.window)
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
                f"  - {self.label(service)}{self.colon} {message} ({text['since']} "
                f"{self.when(opened)}; {status})"
            )
        return text["digest_subject"].format(count=len(items)), "\n".join(lines)

    def test(self, role: str) -> tuple[str, str]:
        """The `reprise alert test` message."""
        return self.text["test_subject"], self.text["test_body"].format(
            org=self.plan.organisation.name, role=role
        )
