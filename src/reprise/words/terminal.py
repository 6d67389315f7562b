"""The words of the lines commands print as they go (alert test, monitor): the people on
call read them, so they come in the plan's language like the mails."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        # Verdicts (the CLI colours the word, outside these texts).
        "terminal.sent": "envoyé",
        "terminal.failed": "ÉCHEC",
        "terminal.failed_because": "{failed}\u202f: {error}",
        # reprise alert test
        "terminal.contact_failed": "{role} {member} <{contact}>\u202f: ÉCHEC\u202f: {error} "
        "({took})",
        "terminal.contacts_reached": "Contacts joints\u202f: {reached} sur {total} ({took}).",
        "terminal.contacts_failed": "Contacts joints\u202f: {reached} sur {total}, {failed} en "
        "échec ({took}).",
        # reprise monitor
        "terminal.watching": "Surveillance de {services} service(s) ({checks} contrôle(s))\u202f; "
        "Ctrl-C ou SIGTERM pour l'arrêter.",
        "terminal.changed": "{time} {service}\u202f: {old} → {new}",
        "terminal.delivered": "{time} {kind} à {role} ({contact})\u202f: {verdict} — {subject}",
        "terminal.gave_up": "ÉCHEC après {attempts} essai(s) ({error})",
        "terminal.stopped": "Surveillance arrêtée.",
        # A service's state as the monitor shows it (another state shows as it is).
        "terminal.state_up": "fonctionnel",
        "terminal.state_degraded": "dégradé",
        "terminal.state_down": "en panne",
        "terminal.state_unknown": "inconnu",
        "terminal.state_impacted": "impacté",
        # What a message is (another kind shows as it is).
        "terminal.kind_problem": "alerte",
        "terminal.kind_escalation": "escalade",
        "terminal.kind_recovery": "rétablissement",
        "terminal.kind_flapping": "instabilité",
        "terminal.kind_stable": "stabilisation",
        "terminal.kind_digest": "récapitulatif",
        "terminal.kind_test": "test",
        "terminal.kind_progress": "point d'étape",
        "terminal.kind_final": "rapport final",
        "terminal.kind_exercise": "exercice",
        "terminal.kind_runbook": "procédure",
        "terminal.kind_sla": "rapport SLA",
    },
    "en": {
        "terminal.sent": "sent",
        "terminal.failed": "FAILED",
        "terminal.failed_because": "{failed}: {error}",
        "terminal.contact_failed": "{role} {member} <{contact}>: FAILED: {error} ({took})",
        "terminal.contacts_reached": "{reached} of {total} contacts reached ({took}).",
        "terminal.contacts_failed": "{reached} of {total} contacts reached, {failed} failed "
        "({took}).",
        "terminal.watching": "Watching {services} services ({checks} checks); Ctrl-C or "
        "SIGTERM stops.",
        "terminal.changed": "{time} {service}: {old} → {new}",
        "terminal.delivered": "{time} {kind} to {role} ({contact}): {verdict} — {subject}",
        "terminal.gave_up": "FAILED after {attempts} tries ({error})",
        "terminal.stopped": "Monitor stopped.",
        "terminal.state_up": "up",
        "terminal.state_degraded": "degraded",
        "terminal.state_down": "down",
        "terminal.state_unknown": "unknown",
        "terminal.state_impacted": "impacted",
        "terminal.kind_problem": "problem",
        "terminal.kind_escalation": "escalation",
        "terminal.kind_recovery": "recovery",
        "terminal.kind_flapping": "flapping",
        "terminal.kind_stable": "stable",
        "terminal.kind_digest": "digest",
        "terminal.kind_test": "test",
        "terminal.kind_progress": "progress",
        "terminal.kind_final": "final",
        "terminal.kind_exercise": "exercise",
        "terminal.kind_runbook": "runbook",
        "terminal.kind_sla": "sla",
    },
}
