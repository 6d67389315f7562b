"""``keys.present`` and ``keys.match``: the recipients and the signing key are there and
usable (the identity where restores run), and every repository agrees with the plan: its
accepted recipient set (pinned in the state) is the plan's, and the signing keys its file
lists are keys the plan trusts."""

from __future__ import annotations

from pathlib import Path

from reprise.doctor.checks import Check, Context, Status, problem, text, worst

PRESENT = "keys.present"
MATCH = "keys.match"


def check_present(context: Context) -> list[Check]:
    """Recipients readable, signing key loadable; the identity only where needed."""
    from reprise.audit.security import restores_here
    from reprise.repository.keys import recipients, signing_key

    title = text("title.keys.present")
    keys = context.plan.keys
    try:
        count = len(recipients(keys))
        signer = signing_key(keys)
    except Exception as error:  # noqa: BLE001 - missing, unreadable, not a key
        message, hint = problem(error)
        return [
            Check(
                PRESENT,
                "fail",
                title,
                text("detail.error", error=message),
                text("fix.hint", hint=hint or "—"),
            )
        ]
    identity = keys.identity is not None and Path(keys.identity).is_file()
    if restores_here(context.plan) and not identity:
        return [
            Check(
                PRESENT, "warn", title, text("detail.keys.no_identity"), text("fix.keys.identity")
            )
        ]
    return [
        Check(
            PRESENT,
            "ok",
            title,
            text("detail.keys.ok", count=count, fingerprint=signer.fingerprint),
        )
    ]


def check_match(context: Context) -> list[Check]:
    """Each repository the sources write to: pinned recipients and listed signing keys."""
    from reprise.repository import open_repository
    from reprise.repository.config import disagreements
    from reprise.repository.keys import recipients
    from reprise.repository.layout import CONFIG_KEY
    from reprise.repository.recipients import get_pin

    title = text("title.keys.match")
    names = sorted({job.source.repository for job in context.sources()})
    if not names:
        return [Check(MATCH, "skip", title, text("detail.no_sources"))]
    if context.store is None:
        return [Check(MATCH, "skip", title, text("detail.no_state"))]
    statuses: list[Status] = []
    lines: list[str] = []
    try:
        wanted = sorted(recipients(context.plan.keys))
    except Exception as error:  # noqa: BLE001 - keys.present says why
        return [
            Check(MATCH, "skip", title, text("detail.keys.see_present", error=problem(error)[0]))
        ]
    for name in names:
        try:
            repository = open_repository(context.plan, name)
            config = repository.config
            trusted = repository.trust
        except Exception as error:  # noqa: BLE001 - the repository check says why
            statuses.append("skip")
            lines.append(f"{name}: {problem(error)[0]}")
            continue
        pin = get_pin(context.store, name)
        if pin is not None and sorted(pin.recipients) != wanted:
            statuses.append("fail")
            lines.append(f"{name}: recipients ≠ accepted")
            continue
        if not set(trusted.fingerprints()) & config.fingerprints():
            statuses.append("fail")
            lines.append(
                f"{name}: {', '.join(sorted(config.fingerprints()))} ∉ {trusted.describe()}"
            )
            continue
        found = disagreements(
            config, trusted, pin.recipients if pin else None, repository.where(CONFIG_KEY)
        )
        statuses.append("warn" if found or pin is None else "ok")
        lines.append(f"{name}: " + ("; ".join(found) if found else trusted.describe()))
    status = worst(statuses)
    fix = text("fix.keys.match", names=", ".join(names)) if status in ("fail", "warn") else None
    return [Check(MATCH, status, title, text("detail.lines", lines="; ".join(lines)), fix)]
