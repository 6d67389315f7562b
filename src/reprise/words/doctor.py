"""The words of ``reprise doctor``: each check's title, verdict and fix, in both languages."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "doctor.column.check": "Vérification",
        "doctor.column.verdict": "Verdict",
        "doctor.column.detail": "Constat",
        "doctor.fix": "Correction\u202f:",
        "doctor.status.ok": "ok",
        "doctor.status.warn": "attention",
        "doctor.status.fail": "échec",
        "doctor.status.skip": "sans objet",
        "doctor.summary": "{ok} ok, {warn} à surveiller, {fail} en échec, {skip} sans objet.",
        "doctor.failing": "En échec\u202f: {ids}",
        "doctor.title.plan.valid": "Le plan se charge et se valide",
        "doctor.title.postgres.reachable": "Chaque source PostgreSQL répond",
        "doctor.title.postgres.client": "Outils clients PostgreSQL à la version des serveurs",
        "doctor.title.clock.skew": "Horloge de la base et de cet hôte d'accord",
        "doctor.title.wal.archive-command": "archive_command archive vraiment (bascule de segment)",
        "doctor.title.wal.server-user": (
            "L'utilisateur du serveur peut lancer «\u00a0wal push\u00a0»"
        ),
        "doctor.title.wal.push-access": "Prérequis de «\u00a0wal push\u00a0» pour {user}",
        "doctor.title.repository": "Dépôt {name} joignable et inscriptible",
        "doctor.title.keys.present": "Clés présentes et utilisables",
        "doctor.title.keys.match": "Clés du plan et des dépôts d'accord",
        "doctor.title.files.modes": "Droits des fichiers (plan, .env, clés, état)",
        "doctor.title.disk.space": "Espace libre face à la plus grosse sauvegarde",
        "doctor.title.service.running": "Le service «\u00a0reprise serve\u00a0» tourne",
        "doctor.detail.lines": "{lines}",
        "doctor.detail.error": "{error}",
        "doctor.detail.no_postgres": "aucune source PostgreSQL dans le plan",
        "doctor.detail.no_reachable_postgres": "aucune source PostgreSQL joignable",
        "doctor.detail.no_physical": "aucune source postgres_physical n'archive ses WAL",
        "doctor.detail.no_sources": "aucune source de sauvegarde dans le plan",
        "doctor.detail.no_state": "base d'état indisponible",
        "doctor.detail.clock": (
            "{lines} (attention au-delà de {warn}\u202fs, échec au-delà de {fail}\u202fs)"
        ),
        "doctor.detail.source_error": "{source}\u202f: {error}",
        "doctor.detail.wal.archived": (
            "segment basculé puis trouvé dans le dépôt (délai {seconds}\u202fs)\u202f: {sources}"
        ),
        "doctor.detail.wal.mode_off": "{source}\u202f: archive_mode vaut «\u00a0{mode}\u00a0»",
        "doctor.detail.wal.not_reprise": (
            "{source}\u202f: archive_command ne lance pas `reprise wal push %p`\u202f: {command}"
        ),
        "doctor.detail.wal.other_plan": (
            "{source}\u202f: archive_command utilise le plan {plan}, pas {wanted}"
        ),
        "doctor.detail.wal.other_source": (
            "{source}\u202f: archive_command archive pour la source {named}"
        ),
        "doctor.detail.wal.failed": (
            "{source}\u202f: l'archivage du segment {segment} a échoué (pg_stat_archiver)"
        ),
        "doctor.detail.wal.failed_since": (
            "{source}\u202f: pg_stat_archiver signale un échec ({segment}) plus récent "
            "que le dernier succès"
        ),
        "doctor.detail.wal.timeout": (
            "{source}\u202f: le segment {segment} n'est pas dans le dépôt après "
            "{seconds}\u202fs (dernier échec\u202f: {failed})"
        ),
        "doctor.detail.server_user.no_command": (
            "{source}\u202f: archive_command ne lance pas Reprise (voir wal.archive-command)"
        ),
        "doctor.detail.server_user.no_datadir": "{source}\u202f: répertoire de données inconnu",
        "doctor.detail.server_user.remote": "{source}\u202f: le serveur ne tourne pas sur cet hôte",
        "doctor.detail.server_user.not_root": (
            "{source}\u202f: seul root peut agir en tant que {user}"
        ),
        "doctor.detail.server_user.ran": (
            "{source}\u202f: lancé sous {user}, Reprise échoue\u202f: {error}"
        ),
        "doctor.detail.server_user.ok": (
            "{source}\u202f: {user} lit le plan et les clés et écrit dans wal/"
        ),
        "doctor.detail.server_user.refused": "refusé à {user}\u202f: {error}",
        "doctor.detail.server_user.root": (
            "{source}\u202f: le serveur semble tourner en root (postmaster.pid ou propriétaire du"
            " répertoire de données {directory})\u202f; PostgreSQL ne tourne jamais en root\u202f:"
            " son archive_command n’est pas lancée"
        ),
        "doctor.detail.push_access.ok": "plan, clés et dépôt accessibles\u202f: {sources}",
        "doctor.detail.repository.ok": "écrit, relu et effacé un objet d'essai\u202f: {where}",
        "doctor.detail.repository.failed": "{error}",
        "doctor.detail.keys.ok": "{count} destinataire(s), clé de signature {fingerprint}",
        "doctor.detail.keys.no_identity": (
            "cet hôte restaure (exercices activés) mais l'identité age n'y est pas"
        ),
        "doctor.detail.keys.see_present": "voir keys.present\u202f: {error}",
        "doctor.detail.modes.ok": "{count} fichiers et dossiers vérifiés",
        "doctor.detail.modes.identity": "l'identité {path} est lisible par le groupe de lecture",
        "doctor.detail.space.no_backup": "aucune sauvegarde au catalogue pour l'instant",
        "doctor.detail.service.ok": (
            "en marche sur {host} (pid {pid}), battement il y a {seconds}\u202fs"
        ),
        "doctor.detail.service.stale": "plus de battement depuis {at} ({host})",
        "doctor.detail.service.never": (
            "l'unité {unit} est installée mais le service n'a jamais tourné"
        ),
        "doctor.detail.service.none": "ni unité systemd ni trace du service",
        "doctor.detail.plan.ok": "{path}",
        "doctor.detail.plan.modes_only": (
            "refusé pour les seuls droits de ses fichiers (voir files.modes)"
        ),
        "doctor.detail.plan_refused": "le plan est refusé (voir plan.valid et files.modes)",
        "doctor.fix.hint": "{hint}",
        "doctor.fix.plan": (
            "corriger le plan aux lignes indiquées, puis relancer reprise plan validate"
        ),
        "doctor.fix.postgres.reachable": "{hints}",
        "doctor.fix.postgres.client": "{hints}",
        "doctor.fix.clock.skew": (
            "synchroniser les horloges (systemd-timesyncd ou chrony) sur cet hôte et sur le serveur"
        ),
        "doctor.fix.wal.settings": "{hint}",
        "doctor.fix.wal.mode_off": (
            "`ALTER SYSTEM SET archive_mode = on;` puis redémarrer PostgreSQL"
        ),
        "doctor.fix.wal.command": (
            "`ALTER SYSTEM SET archive_command = '{command}'; SELECT pg_reload_conf();`"
        ),
        "doctor.fix.wal.failing": (
            "lire le journal de PostgreSQL (erreurs de archive_command) et le "
            "verdict de wal.server-user ({source})"
        ),
        "doctor.fix.wal.privileges": (
            "se connecter en superutilisateur (`pg_switch_wal`, `pg_create_restore_point`)"
        ),
        "doctor.fix.server_user.program": (
            "installer Reprise là où cet utilisateur peut le lancer "
            "(scripts/install.sh, /usr/local/bin/reprise)"
        ),
        "doctor.fix.server_user.access": (
            "donner à {user} la lecture du plan, de .env et des clés (groupe "
            "keys.readers_group, 0640) et l'écriture de wal/ (scripts/install.sh le "
            "fait)"
        ),
        "doctor.fix.repository": "{hint}",
        "doctor.fix.keys.identity": (
            "copier l'identité age sur cet hôte (keys.identity), ou désactiver les exercices ici"
        ),
        "doctor.fix.keys.match": (
            "comparer avec reprise keys show et reprise repo recipients NOM ({names})"
        ),
        "doctor.fix.disk.space": (
            "libérer de la place, ou réduire la rétention (`reprise backup prune`)"
        ),
        "doctor.fix.service": "systemctl enable --now reprise.service (ou lancer reprise serve)",
    },
    "en": {
        "doctor.column.check": "Check",
        "doctor.column.verdict": "Verdict",
        "doctor.column.detail": "Found",
        "doctor.fix": "Fix:",
        "doctor.status.ok": "ok",
        "doctor.status.warn": "warning",
        "doctor.status.fail": "failed",
        "doctor.status.skip": "skipped",
        "doctor.summary": "{ok} ok, {warn} warnings, {fail} failed, {skip} skipped.",
        "doctor.failing": "Failing: {ids}",
        "doctor.title.plan.valid": "The plan loads and validates",
        "doctor.title.postgres.reachable": "Each PostgreSQL source answers",
        "doctor.title.postgres.client": "PostgreSQL client programs match the servers",
        "doctor.title.clock.skew": "The database's clock agrees with this host's",
        "doctor.title.wal.archive-command": "archive_command really archives (segment switch)",
        "doctor.title.wal.server-user": "The server's user can run `wal push`",
        "doctor.title.wal.push-access": "`wal push` prerequisites for {user}",
        "doctor.title.repository": "Repository {name} reachable and writable",
        "doctor.title.keys.present": "Keys present and usable",
        "doctor.title.keys.match": "The plan's keys match the repositories'",
        "doctor.title.files.modes": "File modes (plan, .env, keys, state)",
        "doctor.title.disk.space": "Free space against the largest backup",
        "doctor.title.service.running": "The `reprise serve` service runs",
        "doctor.detail.lines": "{lines}",
        "doctor.detail.error": "{error}",
        "doctor.detail.no_postgres": "no PostgreSQL source in the plan",
        "doctor.detail.no_reachable_postgres": "no PostgreSQL source answers",
        "doctor.detail.no_physical": "no postgres_physical source archives its WAL",
        "doctor.detail.no_sources": "no backup source in the plan",
        "doctor.detail.no_state": "the state database is not available",
        "doctor.detail.clock": "{lines} (warning over {warn} s, failure over {fail} s)",
        "doctor.detail.source_error": "{source}: {error}",
        "doctor.detail.wal.archived": (
            "segment switched, then found in the repository (within {seconds} s): {sources}"
        ),
        "doctor.detail.wal.mode_off": "{source}: archive_mode is '{mode}'",
        "doctor.detail.wal.not_reprise": (
            "{source}: archive_command does not run `reprise wal push %p`: {command}"
        ),
        "doctor.detail.wal.other_plan": (
            "{source}: archive_command uses the plan {plan}, not {wanted}"
        ),
        "doctor.detail.wal.other_source": "{source}: archive_command archives for source {named}",
        "doctor.detail.wal.failed": (
            "{source}: archiving segment {segment} failed (pg_stat_archiver)"
        ),
        "doctor.detail.wal.failed_since": (
            "{source}: pg_stat_archiver shows a failure ({segment}) newer than the last success"
        ),
        "doctor.detail.wal.timeout": (
            "{source}: segment {segment} is not in the repository after {seconds} s "
            "(last failure: {failed})"
        ),
        "doctor.detail.server_user.no_command": (
            "{source}: archive_command does not run Reprise (see wal.archive-command)"
        ),
        "doctor.detail.server_user.no_datadir": "{source}: the data directory is unknown",
        "doctor.detail.server_user.remote": "{source}: the server does not run on this host",
        "doctor.detail.server_user.not_root": "{source}: only root can act as {user}",
        "doctor.detail.server_user.ran": "{source}: run as {user}, Reprise fails: {error}",
        "doctor.detail.server_user.ok": "{source}: {user} reads the plan and keys and writes wal/",
        "doctor.detail.server_user.refused": "refused to {user}: {error}",
        "doctor.detail.server_user.root": (
            "{source}: the server seems to run as root (postmaster.pid or the owner of the"
            " data directory {directory}); PostgreSQL never runs as root: its archive_command"
            " is not run"
        ),
        "doctor.detail.push_access.ok": "plan, keys and repository usable: {sources}",
        "doctor.detail.repository.ok": "wrote, read back and deleted a probe object: {where}",
        "doctor.detail.repository.failed": "{error}",
        "doctor.detail.keys.ok": "{count} recipient(s), signing key {fingerprint}",
        "doctor.detail.keys.no_identity": (
            "this host restores (drills enabled) but the age identity is not here"
        ),
        "doctor.detail.keys.see_present": "see keys.present: {error}",
        "doctor.detail.modes.ok": "{count} files and folders checked",
        "doctor.detail.modes.identity": "the identity {path} is readable by the readers group",
        "doctor.detail.space.no_backup": "no backup in the catalogue yet",
        "doctor.detail.service.ok": "running on {host} (pid {pid}), heartbeat {seconds} s ago",
        "doctor.detail.service.stale": "no heartbeat since {at} ({host})",
        "doctor.detail.service.never": "the unit {unit} is installed but the service never ran",
        "doctor.detail.service.none": "no systemd unit and no trace of the service",
        "doctor.detail.plan.ok": "{path}",
        "doctor.detail.plan.modes_only": "refused for its files' modes alone (see files.modes)",
        "doctor.detail.plan_refused": "the plan is refused (see plan.valid and files.modes)",
        "doctor.fix.hint": "{hint}",
        "doctor.fix.plan": "fix the plan at the lines shown, then run reprise plan validate",
        "doctor.fix.postgres.reachable": "{hints}",
        "doctor.fix.postgres.client": "{hints}",
        "doctor.fix.clock.skew": (
            "synchronise the clocks (systemd-timesyncd or chrony) here and on the server"
        ),
        "doctor.fix.wal.settings": "{hint}",
        "doctor.fix.wal.mode_off": "ALTER SYSTEM SET archive_mode = on; then restart PostgreSQL",
        "doctor.fix.wal.command": (
            "`ALTER SYSTEM SET archive_command = '{command}'; SELECT pg_reload_conf();`"
        ),
        "doctor.fix.wal.failing": (
            "read PostgreSQL's log (archive_command errors) and the verdict of "
            "wal.server-user ({source})"
        ),
        "doctor.fix.wal.privileges": (
            "connect as a superuser (pg_switch_wal, pg_create_restore_point)"
        ),
        "doctor.fix.server_user.program": (
            "install Reprise where that user can run it (scripts/install.sh, "
            "/usr/local/bin/reprise)"
        ),
        "doctor.fix.server_user.access": (
            "let {user} read the plan, .env and keys (keys.readers_group, 0640) and "
            "write wal/ (scripts/install.sh does)"
        ),
        "doctor.fix.repository": "{hint}",
        "doctor.fix.keys.identity": (
            "copy the age identity to this host (keys.identity), or disable drills here"
        ),
        "doctor.fix.keys.match": (
            "compare with reprise keys show and reprise repo recipients NAME ({names})"
        ),
        "doctor.fix.disk.space": "free some space, or shorten the retention (reprise backup prune)",
        "doctor.fix.service": "systemctl enable --now reprise.service (or run reprise serve)",
    },
}
