"""Words of the exercise features, in both languages (merged into the catalog)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "exercise.subject_prefix": "[EXERCICE] ",
        "exercise.title_prefix": "[EXERCICE] ",
        "exercise.mark": "exercice",
        "exercise.banner": "Exercice\u202f: rien de réel n'a été touché (restaurations dans des "
        "instances jetables, commandes non sûres montrées et non exécutées) et les "
        "notifications ne sont allées qu'aux contacts de test.",
        "exercise.incident_title": "Exercice — {scenario}",
        "exercise.opened_subject": "[{organisation}] Exercice ouvert\u202f: "
        "incident {id} — {title}",
        "exercise.opened_body": "Un exercice commence\u202f: incident {id} — {title}.\n"
        "Ce message ne va qu'aux contacts de test du plan\u202f; personne d'astreinte "
        "n'est prévenu.",
        "exercise.command_skipped": "commande montrée, pas lancée (pas safe_in_exercise)\u202f: "
        "$ {command}",
        "exercise.restored_scratch": "restauration de {service} dans une instance "
        "PostgreSQL jetable ({where}) au lieu de {target}, en {seconds} s",
        "exercise.restored_dir": "restauration de {service} dans un dossier temporaire "
        "({where}) au lieu de {target}, en {seconds} s",
        "exercise.restored_tables": "\u202f; {tables} table(s), {rows} ligne(s) restaurées",
        "exercise.scratch_removed": "\u202f; instance arrêtée et supprimée ensuite",
        "exercise.dir_removed": "\u202f; dossier supprimé ensuite",
        "exercise.checked_once": "contrôles de {service} passés une fois (exercice, sans "
        "attente)\u202f: {state}",
        "exercise.sent_test": "envoyé à {count} contact(s) de test (au lieu de {roles})",
        "exercise.run_opened": "Exercice\u202f: incident {id} ouvert ({title})\u202f; "
        "notifications aux seuls contacts de test.",
        "exercise.run_close": "Fin de l'exercice\u202f: `reprise incident close {id}` écrit "
        "le rapport final et l'envoie aux contacts de test.",
        "exercise.dry_heading": "Simulation de {scenario} ({title})\u202f: rien n'est exécuté.",
        "exercise.dry_heading_exercise": "Simulation de l'exercice {scenario} ({title})\u202f: "
        "rien n'est exécuté.",
        "exercise.dry_parameters": "Paramètres\u202f: {values}",
        "exercise.dry_no_parameters": "Paramètres\u202f: aucun",
        "exercise.dry_manual": "demande à une personne de confirmer\u202f: {text}",
        "exercise.dry_command": "exécute\u202f: $ {command} (au plus {timeout} s, code "
        "attendu {expect})",
        "exercise.dry_command_skipped": "montre sans l'exécuter (pas safe_in_exercise)\u202f: "
        "$ {command}",
        "exercise.dry_restore": "restaure la sauvegarde {backup} ({at}) de {service} dans {target}",
        "exercise.dry_restore_scratch": "une instance PostgreSQL jetable (au lieu de {target})",
        "exercise.dry_restore_dir": "un dossier temporaire (au lieu de {target})",
        "exercise.dry_restore_pitr": "restaure {service} à un point dans le temps ({at}) "
        "dans {target}",
        "exercise.dry_restore_unknown": "restaure {service} ({backup}) dans {target}",
        "exercise.dry_would_fail": "\u202f; aujourd'hui cela échouerait\u202f: {error}",
        "exercise.dry_plan_target": "la cible du plan",
        "exercise.dry_latest": "la plus récente",
        "exercise.dry_confirm": " après confirmation d'une personne",
        "exercise.dry_wait_check": "attend que les contrôles de {service} passent "
        "({checks}), au plus {timeout} s",
        "exercise.dry_wait_check_once": "contrôle une fois {service} ({checks}), sans attendre",
        "exercise.dry_notify": "prévient {roles}\u202f: « {subject} » → {contacts}",
        "exercise.dry_nobody": "personne (aucun contact)",
        "exercise.dry_evidence": "conserve dans un lot de preuves signé\u202f: {paths}",
        "exercise.dry_incident_new": "(l'incident d'exercice ouvert au lancement)",
        "exercise.dry_incident_needed": "N, le numéro de l'incident que l'exécution réelle "
        "demande (ses étapes le citent)",
        "exercise.dry_incident_none": "aucun incident\u202f: les étapes ne sont pas notées "
        "dans une chronologie",
        "exercise.dry_incident": "Incident\u202f: {incident}",
        "report.run_skipped": "non exécutée (exercice)",
        "report.step_skipped": "non exécutée (exercice)",
        "report.timeline_exercise": "Exercice annoncé à {sent} contact(s) de test sur {contacts}",
    },
    "en": {
        "exercise.subject_prefix": "[EXERCISE] ",
        "exercise.title_prefix": "[EXERCISE] ",
        "exercise.mark": "exercise",
        "exercise.banner": "Exercise: nothing real was touched (restores into scratch "
        "instances, unsafe commands shown and not run) and notifications went to the test "
        "contacts only.",
        "exercise.incident_title": "Exercise — {scenario}",
        "exercise.opened_subject": "[{organisation}] Exercise opened: incident {id} — {title}",
        "exercise.opened_body": "An exercise begins: incident {id} — {title}.\n"
        "This message goes to the plan's test contacts only; nobody on call is paged.",
        "exercise.command_skipped": "command shown, not run (not safe_in_exercise): $ {command}",
        "exercise.restored_scratch": "restore of {service} into a scratch PostgreSQL "
        "instance ({where}) instead of {target}, in {seconds} s",
        "exercise.restored_dir": "restore of {service} into a temporary folder ({where}) "
        "instead of {target}, in {seconds} s",
        "exercise.restored_tables": "; {tables} table(s), {rows} row(s) restored",
        "exercise.scratch_removed": "; instance stopped and removed afterwards",
        "exercise.dir_removed": "; folder removed afterwards",
        "exercise.checked_once": "checks of {service} run once (exercise, no waiting): {state}",
        "exercise.sent_test": "sent to {count} test contact(s) (instead of {roles})",
        "exercise.run_opened": "Exercise: incident {id} opened ({title}); notifications to "
        "the test contacts only.",
        "exercise.run_close": "To end the exercise: `reprise incident close {id}` writes the "
        "final report and sends it to the test contacts.",
        "exercise.dry_heading": "Dry run of {scenario} ({title}): nothing is run.",
        "exercise.dry_heading_exercise": "Dry run of the exercise {scenario} ({title}): "
        "nothing is run.",
        "exercise.dry_parameters": "Parameters: {values}",
        "exercise.dry_no_parameters": "Parameters: none",
        "exercise.dry_manual": "asks a person to confirm: {text}",
        "exercise.dry_command": "runs: $ {command} (at most {timeout} s, expected exit {expect})",
        "exercise.dry_command_skipped": "shows without running it (not safe_in_exercise): "
        "$ {command}",
        "exercise.dry_restore": "restores backup {backup} ({at}) of {service} into {target}",
        "exercise.dry_restore_scratch": "a scratch PostgreSQL instance (instead of {target})",
        "exercise.dry_restore_dir": "a temporary folder (instead of {target})",
        "exercise.dry_restore_pitr": "recovers {service} to a point in time ({at}) into {target}",
        "exercise.dry_restore_unknown": "restores {service} ({backup}) into {target}",
        "exercise.dry_would_fail": "; today it would fail: {error}",
        "exercise.dry_plan_target": "the plan's target",
        "exercise.dry_latest": "the newest",
        "exercise.dry_confirm": " once a person confirms",
        "exercise.dry_wait_check": "waits until the checks of {service} pass ({checks}), "
        "at most {timeout} s",
        "exercise.dry_wait_check_once": "checks {service} once ({checks}), without waiting",
        "exercise.dry_notify": "notifies {roles}: “{subject}” → {contacts}",
        "exercise.dry_nobody": "nobody (no contact)",
        "exercise.dry_evidence": "keeps in a signed evidence bundle: {paths}",
        "exercise.dry_incident_new": "(the exercise incident opened when it starts)",
        "exercise.dry_incident_needed": "N, the number of the incident the real run needs "
        "(its steps quote it)",
        "exercise.dry_incident_none": "no incident: the steps are not written into a timeline",
        "exercise.dry_incident": "Incident: {incident}",
        "report.run_skipped": "not run (exercise)",
        "report.step_skipped": "not run (exercise)",
        "report.timeline_exercise": "Exercise announced to {sent} of {contacts} test contact(s)",
    },
}
