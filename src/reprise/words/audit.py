"""Words of the audit features, in both languages (merged into the catalog): the items'
titles and objectives, the values measured, the fixes, and the report's headings."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "audit.title": "Rapport d'audit de conformité",
        "audit.result": "Résultat",
        "audit.started": "Début",
        "audit.duration": "Durée",
        "audit.services": "Services",
        "audit.mode": "Mode",
        "audit.mode_quick": "rapide (ni sauvegarde fraîche ni exercice de restauration)",
        "audit.mode_full": "complet",
        "audit.by": "Lancé par",
        "audit.count_ok": "conformes",
        "audit.count_failed": "non conformes",
        "audit.count_skipped": "sautés",
        "audit.count_not_applicable": "sans objet",
        "audit.items_title": "Points audités",
        "audit.item": "Point",
        "audit.measured": "Valeur mesurée",
        "audit.objective": "Objectif",
        "audit.to_do": "À corriger",
        "audit.colon": "\u202f:",
        "audit.result_compliant": "conforme",
        "audit.result_not_compliant": "non conforme",
        "audit.result_error": "audit impossible",
        "audit.item.checks": "{service}\u202f: vérifications",
        "audit.item.backup_age": "{service}\u202f: âge de la dernière sauvegarde vérifiée",
        "audit.item.throughput": "{service}\u202f: débit d'une sauvegarde fraîche",
        "audit.item.drill": "{service}\u202f: exercice de restauration",
        "audit.item.wal": "{service}\u202f: archive WAL et fenêtre PITR",
        "audit.item.verification": "Vérification du dépôt",
        "audit.item.scheduler": "Planificateur (reprise serve)",
        "audit.item.alert_channels": "Canaux d'alerte",
        "audit.item.security.file_modes": "Droits des fichiers (plan, .env, clés)",
        "audit.item.security.env_git": "Fichier .env hors de Git",
        "audit.item.security.identity": "Identité age absente des hôtes de sauvegarde seule",
        "audit.item.security.recipients": "Sauvegardes chiffrées pour les destinataires attendus",
        "audit.item.security.signing_key": "Empreinte de la clé de signature épinglée",
        "audit.objective.checks": "toutes les vérifications réussissent",
        "audit.objective.rpo": "≤ RPO ({rpo})",
        "audit.objective.throughput": "≥ {floor} de la médiane des sauvegardes précédentes",
        "audit.objective.drill": "intégrité vérifiée, RTO atteint ≤ {rto}",
        "audit.objective.wal": "archive continue depuis la dernière base, dernier segment ≤ {rpo}",
        "audit.objective.verification": (
            "{budget} des octets vérifiés en moins de {limit}, aucun dommage"
        ),
        "audit.objective.scheduler": "service vivant, chaque tâche planifiée à l'heure",
        "audit.objective.channels": "un message d'essai accepté par chaque contact d'essai",
        "audit.objective.channels_page": (
            "un message d'essai accepté par chaque contact d'essai et d'astreinte"
        ),
        "audit.objective.file_modes": (
            "modifiables par leur seul propriétaire, secrets lisibles par lui seul"
        ),
        "audit.objective.env_git": ".env ni suivi ni oublié par Git",
        "audit.objective.identity": "identité présente seulement là où l'on restaure",
        "audit.objective.recipients": (
            "destinataires du plan = destinataires épinglés = ceux des dernières sauvegardes"
        ),
        "audit.objective.signing_key": "clé de signature approuvée par le plan et par les dépôts",
        "audit.measured.error": "mesure impossible\u202f: {error}",
        "audit.fix.error": "{hint}",
        "audit.fix.error_none": "corriger la cause ci-dessus, puis relancer l'audit",
        "audit.measured.no_checks": "aucune vérification dans le plan",
        "audit.fix.no_checks": "ajouter des vérifications (`checks:`) au service",
        "audit.measured.checks_up": "{count} vérification(s) réussie(s)",
        "audit.measured.checks_failing": (
            "{failing} vérification(s) sur {count} en échec\u202f: {lines}"
        ),
        "audit.fix.checks": "rétablir le service (voir son runbook), puis relancer l'audit",
        "audit.measured.no_verified_backup": (
            "aucune sauvegarde vérifiée ({count} en attente de vérification)"
        ),
        "audit.fix.backup_unverified": "vérifier les sauvegardes\u202f: `reprise backup verify`",
        "audit.fix.backup_none": "faire une sauvegarde\u202f: `reprise backup run`",
        "audit.measured.backup_age": "{age} (sauvegarde {backup} du {at})",
        "audit.fix.backup_age": (
            "faire une sauvegarde (`reprise backup run`) et vérifier sa planification"
        ),
        "audit.measured.throughput_first": (
            "{speed} Mo/s (rien à comparer\u202f: première sauvegarde)"
        ),
        "audit.measured.throughput": (
            "{speed} Mo/s, soit {share} de la médiane {median} Mo/s ({runs} sauvegarde(s) "
            "précédente(s))"
        ),
        "audit.fix.throughput": (
            "chercher ce qui ralentit la source ou le dépôt (disque, réseau, charge) avant que "
            "le RPO n'en souffre"
        ),
        "audit.measured.drill_integrity": (
            "{failed} contrôle(s) d'intégrité sur {count} en échec\u202f: {names}"
        ),
        "audit.fix.drill_integrity": (
            "lire le rapport de l'exercice {drill} (`reprise drill list`) et réparer la "
            "sauvegarde ou les assertions"
        ),
        "audit.measured.drill": (
            "RTO atteint {rto}, {count} contrôle(s) d'intégrité réussi(s) (sauvegarde {backup})"
        ),
        "audit.fix.drill_rto": (
            "accélérer la restauration ou revoir l'objectif RTO ({objective}) avec la direction"
        ),
        "audit.measured.wal_broken": "archive WAL interrompue\u202f: {error}",
        "audit.fix.wal_broken": (
            "retrouver les segments manquants (`reprise wal list`), ou faire une nouvelle "
            "sauvegarde de base"
        ),
        "audit.measured.wal_none": "aucun segment WAL archivé",
        "audit.measured.wal": (
            "fenêtre PITR du {start} au {end}, dernier segment il y a {age} ({files} "
            "fichier(s) à rejouer)"
        ),
        "audit.fix.wal_stale": (
            "vérifier l'archive_command du serveur et les journaux de PostgreSQL"
        ),
        "audit.measured.verification_damaged": (
            "{damaged} sauvegarde(s) endommagée(s) sur {count}\u202f: {names}"
        ),
        "audit.fix.verification_damaged": (
            "ne plus s'y fier, chercher qui a modifié le dépôt (`reprise backup verify`), "
            "faire une sauvegarde neuve"
        ),
        "audit.measured.verification_unreachable": "dépôt injoignable\u202f: {names}",
        "audit.fix.verification_unreachable": "rétablir l'accès au dépôt, puis relancer l'audit",
        "audit.measured.verification": "{count} sauvegarde(s), {size} vérifiés en {took}",
        "audit.fix.verification_slow": (
            "augmenter `audit.verification_time` ou réduire `audit.verification_budget`, ou "
            "accélérer le dépôt"
        ),
        "audit.measured.no_service": "aucun `reprise serve` n'a jamais tourné sur cet état",
        "audit.fix.no_service": (
            "lancer `reprise serve` (voir docs/service.md) pour que sauvegardes, exercices et "
            "vérifications tournent seuls"
        ),
        "audit.measured.service_silent": "service muet depuis le {at} (hôte {host})",
        "audit.fix.service_silent": (
            "redémarrer le service\u202f: `systemctl restart reprise`, puis lire ses journaux"
        ),
        "audit.measured.jobs_late": "{late} tâche(s) sur {count} en retard\u202f: {names}",
        "audit.fix.jobs_late": "lire `reprise jobs list` et les journaux du service",
        "audit.measured.service_alive": (
            "service vivant sur {host} (signe de vie il y a {beat}), {count} tâche(s) à l'heure"
        ),
        "audit.test_subject": "[Reprise] Essai d'audit ({org})",
        "audit.test_body": (
            "Message d'essai de l'audit de conformité du plan de {org}. Rien à faire."
        ),
        "audit.measured.no_test_contacts": "aucun contact d'essai dans le plan",
        "audit.fix.no_test_contacts": (
            "ajouter communication.test_contacts (des adresses Apprise) au plan"
        ),
        "audit.measured.channels_failed": (
            "{failed} contact(s) sur {count} injoignable(s)\u202f: {names}"
        ),
        "audit.fix.channels": (
            "réparer le canal (serveur, identifiants, adresse) et relancer l'audit"
        ),
        "audit.measured.channels": "{count} contact(s) joint(s), chacun en moins de {limit}",
        "audit.measured.modes_ok": "{count} fichier(s) et dossier(s) contrôlé(s)",
        "audit.measured.modes_refused": "{count} fichier(s) trop ouvert(s)\u202f: {names}",
        "audit.fix.modes": "{commands}",
        "audit.measured.no_git": "Git absent de cet hôte",
        "audit.measured.not_in_git": "le dossier du plan n'est pas dans un dépôt Git",
        "audit.measured.no_env": "pas de .env dans le dossier du plan",
        "audit.measured.env_tracked": ".env est suivi par Git",
        "audit.fix.env_tracked": (
            "`git rm --cached {path}`, l'ajouter à .gitignore et changer les secrets qu'il "
            "contenait"
        ),
        "audit.measured.env_not_ignored": ".env n'est pas ignoré par Git",
        "audit.fix.env_ignore": "ajouter .env au .gitignore du dossier du plan",
        "audit.measured.env_ignored": ".env ignoré par Git et non suivi",
        "audit.measured.identity_needed": (
            "identité présente, utile aux exercices de restauration de cet hôte"
        ),
        "audit.measured.identity_missing": (
            "identité absente alors que cet hôte fait des exercices de restauration"
        ),
        "audit.fix.identity_bring": (
            "apporter l'identité (keys.identity) ou désactiver les exercices sur cet hôte"
        ),
        "audit.measured.identity_on_backup_host": (
            "identité présente ({path}) sur un hôte qui ne fait que sauvegarder"
        ),
        "audit.fix.identity_remove": (
            "ranger l'identité hors ligne (là où l'on restaure) et l'effacer de cet hôte"
        ),
        "audit.measured.identity_absent": "identité absente (hôte de sauvegarde seule)",
        "audit.measured.recipients_differ": "destinataires différents pour\u202f: {names}",
        "audit.fix.recipients": (
            "relire `reprise repo recipients NOM`, puis accepter le changement voulu ou "
            "chercher qui a modifié les clés"
        ),
        "audit.measured.recipients_ok": (
            "{sources} source(s) chiffrée(s) pour les {count} destinataire(s) du plan"
        ),
        "audit.measured.no_signing_key": "pas de clé de signature sur cet hôte",
        "audit.measured.signer_not_pinned": (
            "la clé de signature {fingerprint} n'est pas parmi keys.trusted_signing_keys"
        ),
        "audit.fix.signer_not_pinned": (
            "remettre la bonne clé de signature, ou épingler sa clé publique dans "
            "keys.trusted_signing_keys"
        ),
        "audit.measured.repository_file_differs": (
            "{count} désaccord(s) entre le fichier du dépôt et le plan"
        ),
        "audit.fix.repository_file": (
            "lire `reprise backup verify` et accorder le fichier du dépôt avec le plan"
        ),
        "audit.measured.signer_ok": "clé de signature {fingerprint} approuvée",
        "audit.measured.no_backups": "aucune sauvegarde dans le plan",
        "audit.measured.skipped_quick": "sauté (mode rapide)",
        "audit.measured.skipped_no_backup": "sauté (sans sauvegarde fraîche)",
        "audit.measured.not_drillable": "aucune sauvegarde PostgreSQL logique à restaurer",
        "audit.measured.drill_disabled": "exercices désactivés pour ce service",
        "audit.measured.no_wal": "pas de sauvegarde physique (WAL)",
        "audit.written": "Rapport écrit dans {path} (audit {id}).",
    },
    "en": {
        "audit.title": "Compliance audit report",
        "audit.result": "Result",
        "audit.started": "Started",
        "audit.duration": "Duration",
        "audit.services": "Services",
        "audit.mode": "Mode",
        "audit.mode_quick": "quick (no fresh backup, no drill)",
        "audit.mode_full": "full",
        "audit.by": "Run by",
        "audit.count_ok": "compliant",
        "audit.count_failed": "not compliant",
        "audit.count_skipped": "skipped",
        "audit.count_not_applicable": "not applicable",
        "audit.items_title": "Items audited",
        "audit.item": "Item",
        "audit.measured": "Measured",
        "audit.objective": "Objective",
        "audit.to_do": "To fix",
        "audit.colon": ":",
        "audit.result_compliant": "compliant",
        "audit.result_not_compliant": "not compliant",
        "audit.result_error": "could not run",
        "audit.item.checks": "{service}: checks",
        "audit.item.backup_age": "{service}: age of the newest verified backup",
        "audit.item.throughput": "{service}: throughput of a fresh backup",
        "audit.item.drill": "{service}: restore drill",
        "audit.item.wal": "{service}: WAL archive and PITR window",
        "audit.item.verification": "Repository verification",
        "audit.item.scheduler": "Scheduler (reprise serve)",
        "audit.item.alert_channels": "Alert channels",
        "audit.item.security.file_modes": "File modes (plan, .env, keys)",
        "audit.item.security.env_git": ".env kept out of Git",
        "audit.item.security.identity": "Age identity absent from backup-only hosts",
        "audit.item.security.recipients": "Backups encrypted to the expected recipients",
        "audit.item.security.signing_key": "Signing key fingerprint as pinned",
        "audit.objective.checks": "every check passes",
        "audit.objective.rpo": "≤ RPO ({rpo})",
        "audit.objective.throughput": "≥ {floor} of the median of the previous backups",
        "audit.objective.drill": "integrity checked, RTO achieved ≤ {rto}",
        "audit.objective.wal": "continuous archive from the newest base, newest segment ≤ {rpo}",
        "audit.objective.verification": (
            "{budget} of the bytes verified within {limit}, nothing damaged"
        ),
        "audit.objective.scheduler": "service alive, every scheduled job on time",
        "audit.objective.channels": "a test message taken by every test contact",
        "audit.objective.channels_page": "a test message taken by every test and on-call contact",
        "audit.objective.file_modes": (
            "changeable by their owner only, secrets readable by the owner only"
        ),
        "audit.objective.env_git": ".env neither tracked nor unignored by Git",
        "audit.objective.identity": "identity present only where restores run",
        "audit.objective.recipients": (
            "plan recipients = pinned recipients = those of the newest backups"
        ),
        "audit.objective.signing_key": "signing key trusted by the plan and the repositories",
        "audit.measured.error": "could not measure: {error}",
        "audit.fix.error": "{hint}",
        "audit.fix.error_none": "fix the cause above, then run the audit again",
        "audit.measured.no_checks": "no checks in the plan",
        "audit.fix.no_checks": "add checks to the service",
        "audit.measured.checks_up": "{count} check(s) passed",
        "audit.measured.checks_failing": "{failing} of {count} check(s) failing: {lines}",
        "audit.fix.checks": "bring the service back (see its runbook), then run the audit again",
        "audit.measured.no_verified_backup": (
            "no verified backup ({count} waiting for verification)"
        ),
        "audit.fix.backup_unverified": "verify the backups: `reprise backup verify`",
        "audit.fix.backup_none": "make a backup: `reprise backup run`",
        "audit.measured.backup_age": "{age} (backup {backup} of {at})",
        "audit.fix.backup_age": "make a backup (`reprise backup run`) and check its schedule",
        "audit.measured.throughput_first": "{speed} MB/s (nothing to compare with: first backup)",
        "audit.measured.throughput": (
            "{speed} MB/s, {share} of the median {median} MB/s ({runs} previous backup(s))"
        ),
        "audit.fix.throughput": (
            "find what slows the source or the repository (disk, network, load) before the RPO "
            "suffers"
        ),
        "audit.measured.drill_integrity": "{failed} of {count} integrity check(s) failed: {names}",
        "audit.fix.drill_integrity": (
            "read the report of drill {drill} (`reprise drill list`) and repair the backup or "
            "the assertions"
        ),
        "audit.measured.drill": (
            "RTO achieved {rto}, {count} integrity check(s) passed (backup {backup})"
        ),
        "audit.fix.drill_rto": (
            "make the restore faster or review the RTO objective ({objective}) with management"
        ),
        "audit.measured.wal_broken": "WAL archive broken: {error}",
        "audit.fix.wal_broken": (
            "find the missing segments (`reprise wal list`), or make a new base backup"
        ),
        "audit.measured.wal_none": "no WAL segment archived",
        "audit.measured.wal": (
            "PITR window from {start} to {end}, newest segment {age} old ({files} file(s) to "
            "replay)"
        ),
        "audit.fix.wal_stale": "check the server's archive_command and PostgreSQL's logs",
        "audit.measured.verification_damaged": "{damaged} of {count} backup(s) damaged: {names}",
        "audit.fix.verification_damaged": (
            "stop relying on them, find who altered the repository (`reprise backup verify`), "
            "make a fresh backup"
        ),
        "audit.measured.verification_unreachable": "repository unreachable: {names}",
        "audit.fix.verification_unreachable": (
            "restore access to the repository, then run the audit again"
        ),
        "audit.measured.verification": "{count} backup(s), {size} verified in {took}",
        "audit.fix.verification_slow": (
            "raise audit.verification_time or lower audit.verification_budget, or make the "
            "repository faster"
        ),
        "audit.measured.no_service": "no `reprise serve` ever ran on this state",
        "audit.fix.no_service": (
            "run `reprise serve` (see docs/service.md) so that backups, drills and "
            "verification run by themselves"
        ),
        "audit.measured.service_silent": "service silent since {at} (host {host})",
        "audit.fix.service_silent": (
            "restart the service: `systemctl restart reprise`, then read its logs"
        ),
        "audit.measured.jobs_late": "{late} of {count} job(s) late: {names}",
        "audit.fix.jobs_late": "read `reprise jobs list` and the service's logs",
        "audit.measured.service_alive": (
            "service alive on {host} (heartbeat {beat} ago), {count} job(s) on time"
        ),
        "audit.test_subject": "[Reprise] Audit test ({org})",
        "audit.test_body": (
            "Test message of the compliance audit of the {org} plan. Nothing to do."
        ),
        "audit.measured.no_test_contacts": "no test contacts in the plan",
        "audit.fix.no_test_contacts": "add communication.test_contacts (Apprise URLs) to the plan",
        "audit.measured.channels_failed": "{failed} of {count} contact(s) unreachable: {names}",
        "audit.fix.channels": (
            "repair the channel (server, credentials, address) and run the audit again"
        ),
        "audit.measured.channels": "{count} contact(s) reached, each within {limit}",
        "audit.measured.modes_ok": "{count} file(s) and folder(s) checked",
        "audit.measured.modes_refused": "{count} file(s) too open: {names}",
        "audit.fix.modes": "{commands}",
        "audit.measured.no_git": "Git is not installed on this host",
        "audit.measured.not_in_git": "the plan's folder is not in a Git work tree",
        "audit.measured.no_env": "no .env in the plan's folder",
        "audit.measured.env_tracked": ".env is tracked by Git",
        "audit.fix.env_tracked": (
            "`git rm --cached {path}`, add it to .gitignore and change the secrets it held"
        ),
        "audit.measured.env_not_ignored": ".env is not ignored by Git",
        "audit.fix.env_ignore": "add .env to the .gitignore of the plan's folder",
        "audit.measured.env_ignored": ".env ignored by Git and not tracked",
        "audit.measured.identity_needed": "identity present, needed by this host's restore drills",
        "audit.measured.identity_missing": "identity absent while this host runs restore drills",
        "audit.fix.identity_bring": (
            "bring the identity (keys.identity) or disable drills on this host"
        ),
        "audit.measured.identity_on_backup_host": (
            "identity present ({path}) on a host that only makes backups"
        ),
        "audit.fix.identity_remove": (
            "keep the identity offline (where restores run) and delete it from this host"
        ),
        "audit.measured.identity_absent": "identity absent (backup-only host)",
        "audit.measured.recipients_differ": "recipients differ for: {names}",
        "audit.fix.recipients": (
            "review `reprise repo recipients NAME`, then accept the intended change or find "
            "who changed the keys"
        ),
        "audit.measured.recipients_ok": (
            "{sources} source(s) encrypted to the plan's {count} recipient(s)"
        ),
        "audit.measured.no_signing_key": "no signing key on this host",
        "audit.measured.signer_not_pinned": (
            "signing key {fingerprint} is not among keys.trusted_signing_keys"
        ),
        "audit.fix.signer_not_pinned": (
            "put the right signing key back, or pin its public key in keys.trusted_signing_keys"
        ),
        "audit.measured.repository_file_differs": (
            "{count} disagreement(s) between the repository file and the plan"
        ),
        "audit.fix.repository_file": (
            "read `reprise backup verify` and bring the repository file in line with the plan"
        ),
        "audit.measured.signer_ok": "signing key {fingerprint} trusted",
        "audit.measured.no_backups": "no backups in the plan",
        "audit.measured.skipped_quick": "skipped (quick mode)",
        "audit.measured.skipped_no_backup": "skipped (no fresh backup)",
        "audit.measured.not_drillable": "no logical PostgreSQL backup to restore",
        "audit.measured.drill_disabled": "drills disabled for this service",
        "audit.measured.no_wal": "no physical (WAL) backup",
        "audit.written": "Report written to {path} (audit {id}).",
    },
}
