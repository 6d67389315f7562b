"""The words of the lines the alerting and monitoring commands print (alert list, ack and
test, silence, status, check, monitor): the people on call read them, so they come in the
plan's language like the mails. A table's headers are one text, ``|`` between columns."""

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
        # reprise alert list, ack
        "terminal.no_open_alerts": "Aucune alerte ouverte.",
        "terminal.no_alerts": "Aucune alerte.",
        "terminal.alert_columns": "N°|Service|Prio|Type|Ouverte|Notifiée|Niveau|Prise en "
        "compte|Résolue|Message",
        "terminal.held_by_root": "retenue\u202f: {root} en panne",
        "terminal.digest_at": "récapitulatif {time}",
        "terminal.failed_deliveries": "Envois en échec",
        "terminal.delivery_failed": "{time} {kind} à {role} ({contact}) après {attempts} "
        "essai(s)\u202f: {error}",
        "terminal.acked": "Alerte {id} ({service}, {kind}) prise en compte par {by} le {time}.",
        # reprise silence add, list, remove
        "terminal.silence_added": "Silence {id}\u202f: alertes de {service} retenues pendant "
        "{duration}, jusqu'au {until}.",
        "terminal.no_active_silences": "Aucun silence en cours.",
        "terminal.no_silences": "Aucun silence.",
        "terminal.silence_columns": "N°|Service|Début|Fin|Par|Motif",
        "terminal.silence_ended": "Silence {id} levé.",
        # reprise status
        "terminal.status_columns": "Service|Priorité|État|Latence|Message",
        "terminal.services_up": "{up} service(s) fonctionnel(s) sur {total} contrôlé(s).",
        "terminal.service_running": "Service\u202f: actif sur {host} (pid {pid}), dernier "
        "signe de vie il y a {age}.",
        "terminal.service_not_running": "Service\u202f: arrêté",
        "terminal.service_not_running_since": "Service\u202f: arrêté (dernier signe de vie le "
        "{time})",
        "terminal.service_needed": "{stopped}\u202f: aucune tâche planifiée ni alerte ne part "
        "tant que `reprise serve` (ou son unité systemd) n'est pas démarré.",
        # reprise check
        "terminal.check_heading": "{name} ({id}) — {priority}, {category}\u202f: {state}",
        "terminal.caused_by": "causé par\u202f: {services} (en panne)",
        "terminal.no_checks": "aucun contrôle dans le plan",
        "terminal.paused_maintenance": "maintenance\u202f: {reason}",
        "terminal.paused_silence": "silence jusqu'au {until}\u202f: {reason}",
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
        "terminal.no_open_alerts": "No open alerts.",
        "terminal.no_alerts": "No alerts.",
        "terminal.alert_columns": "Id|Service|Prio|Kind|Opened|Notified|Level|Acked|Resolved|"
        "Message",
        "terminal.held_by_root": "held: {root} down",
        "terminal.digest_at": "digest {time}",
        "terminal.failed_deliveries": "Failed deliveries",
        "terminal.delivery_failed": "{time} {kind} to {role} ({contact}) after {attempts} "
        "tries: {error}",
        "terminal.acked": "Alert {id} ({service}, {kind}) acknowledged by {by} at {time}.",
        "terminal.silence_added": "Silence {id}: alerts of {service} held back for {duration}, "
        "until {until}.",
        "terminal.no_active_silences": "No silences in force.",
        "terminal.no_silences": "No silences.",
        "terminal.silence_columns": "Id|Service|From|Until|By|Reason",
        "terminal.silence_ended": "Silence {id} ended.",
        "terminal.status_columns": "Service|Priority|State|Latency|Message",
        "terminal.services_up": "{up} of {total} checked services up.",
        "terminal.service_running": "Service: running on {host} (pid {pid}), last heartbeat "
        "{age} ago.",
        "terminal.service_not_running": "Service: not running",
        "terminal.service_not_running_since": "Service: not running (last heard from {time})",
        "terminal.service_needed": "{stopped}: no scheduled job or alert runs until "
        "`reprise serve` (or its systemd unit) is started.",
        "terminal.check_heading": "{name} ({id}) — {priority}, {category}: {state}",
        "terminal.caused_by": "caused by: {services} (down)",
        "terminal.no_checks": "no checks in the plan",
        "terminal.paused_maintenance": "maintenance: {reason}",
        "terminal.paused_silence": "silenced until {until}: {reason}",
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
