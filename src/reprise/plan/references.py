"""Rules that relate parts of a plan to each other: unique ids, references to services,
roles and repositories, dependency cycles, and what a service with backups needs.

Each rule reports the exact place of the offending reference, so that the user sees the
line of ``depends_on: [routeur]`` and not just "unknown service".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

from reprise.plan.checks import BackupAgeCheck, HeartbeatCheck
from reprise.plan.model import Plan
from reprise.plan.sources import PostgresPhysicalSource, PostgresSource, default_source_name
from reprise.plan.sqltext import split_statements
from reprise.plan.steps import (
    PARAMETER,
    NotifyStep,
    RestoreStep,
    Step,
    WaitCheckStep,
    command_parameters,
    parameter_value_problem,
    step_texts,
    template_errors,
)
from reprise.plan.yamlsource import Path_


@dataclass(frozen=True)
class Problem:
    """A cross-reference problem at a place of the plan (located later)."""

    path: Path_
    message: str
    hint: str


def _unknown(kind: str, name: str, known: Iterable[str], how_to_add: str) -> tuple[str, str]:
    candidates = sorted(known)
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    message = f"unknown {kind} {name!r}"
    if close:
        return message, f"did you mean {close[0]!r}?"
    if candidates:
        return message, f"use one of: {', '.join(candidates)}"
    return message, how_to_add


def _duplicates(ids: list[str], path_of: tuple[str, ...], what: str) -> Iterator[Problem]:
    first: dict[str, int] = {}
    for index, value in enumerate(ids):
        if value in first:
            yield Problem(
                (*path_of, index, "id"),
                f"duplicate {what} id {value!r} (also {path_of[-1]}[{first[value]}])",
                "give each one its own id",
            )
        else:
            first[value] = index


def check_references(plan: Plan) -> list[Problem]:
    """Every cross-reference problem of the plan (an empty list when it is consistent)."""
    problems: list[Problem] = []
    problems += _duplicates([s.id for s in plan.services], ("services",), "service")
    problems += _duplicates([r.id for r in plan.roles], ("roles",), "role")
    problems += _duplicates([s.id for s in plan.scenarios], ("scenarios",), "scenario")
    problems += _role_references(plan)
    problems += _service_references(plan)
    problems += _backup_rules(plan)
    problems += _integrity_assertions(plan)
    problems += _cycles(plan)
    problems += _scenario_parameters(plan)
    problems += _alerting_references(plan)
    problems += _heartbeat_tokens(plan)
    problems += _status_page_references(plan)
    problems += _logins(plan)
    return problems


def _role_references(plan: Plan) -> Iterator[Problem]:
    roles = {role.id for role in plan.roles}
    add_role = "declare it under roles: (id, title, members)"

    def unknown(path: Path_, name: str) -> Problem:
        return Problem(path, *_unknown("role", name, roles, add_role))

    for index, role_id in enumerate(plan.communication.audiences):
        if role_id not in roles:
            yield unknown(("communication", "audiences", index), role_id)
    for level in ("P1", "P2", "P3"):
        for index, role_id in enumerate(getattr(plan.priorities, level).escalate_to):
            if role_id not in roles:
                yield unknown(("priorities", level, "escalate_to", index), role_id)
    for s_index, service in enumerate(plan.services):
        if service.owner and service.owner not in roles:
            yield unknown(("services", s_index, "owner"), service.owner)
    for path, step in _all_steps(plan):
        if step.role and step.role not in roles:
            yield unknown((*path, "role"), step.role)
        if isinstance(step, NotifyStep):
            for index, role_id in enumerate(step.roles):
                if role_id not in roles:
                    yield unknown((*path, "roles", index), role_id)


def _all_steps(plan: Plan) -> Iterator[tuple[Path_, Step]]:
    path: Path_
    for s_index, service in enumerate(plan.services):
        for index, step in enumerate(service.procedure):
            path = ("services", s_index, "procedure", index)
            yield path, step
    for c_index, scenario in enumerate(plan.scenarios):
        for index, step in enumerate(scenario.steps):
            yield ("scenarios", c_index, "steps", index), step


def _service_references(plan: Plan) -> Iterator[Problem]:
    services = {service.id: service for service in plan.services}
    add_service = "declare it under services:"

    def unknown(path: Path_, name: str) -> Problem:
        return Problem(path, *_unknown("service", name, services, add_service))

    for s_index, service in enumerate(plan.services):
        for index, dependency in enumerate(service.depends_on):
            if dependency == service.id:
                yield Problem(
                    ("services", s_index, "depends_on", index),
                    f"{service.id!r} depends on itself",
                    "remove it from depends_on",
                )
            elif dependency not in services:
                yield unknown(("services", s_index, "depends_on", index), dependency)
        for c_index, check in enumerate(service.checks):
            if not isinstance(check, BackupAgeCheck):
                continue
            path: Path_ = ("services", s_index, "checks", c_index)
            target = check.service or service.id
            if check.service and check.service not in services:
                yield unknown((*path, "service"), check.service)
            elif not services[target].backups:
                yield Problem(
                    path,
                    f"backup_age watches {target!r}, which has no backups",
                    "add a backups: entry to that service, or remove this check",
                )
    for c_index, scenario in enumerate(plan.scenarios):
        for index, service_id in enumerate(scenario.services):
            if service_id not in services:
                yield unknown(("scenarios", c_index, "services", index), service_id)
    for path, step in _all_steps(plan):
        if isinstance(step, RestoreStep | WaitCheckStep):
            if step.service not in services:
                yield unknown((*path, "service"), step.service)
            elif isinstance(step, RestoreStep) and not services[step.service].backups:
                yield Problem(
                    (*path, "service"),
                    f"restore step for {step.service!r}, which has no backups",
                    "add a backups: entry to that service",
                )
            elif (
                isinstance(step, RestoreStep)
                and step.pitr
                and not any(
                    isinstance(source, PostgresPhysicalSource)
                    for source in services[step.service].backups
                )
            ):
                yield Problem(
                    (*path, "pitr"),
                    f"point-in-time recovery of {step.service!r} needs a postgres_physical backup",
                    "add a backups: entry of kind postgres_physical, or set pitr: false",
                )


def _backup_rules(plan: Plan) -> Iterator[Problem]:
    repositories = set(plan.repositories)
    names: dict[str, Path_] = {}
    first_backup: Path_ | None = None
    for s_index, service in enumerate(plan.services):
        for b_index, source in enumerate(service.backups):
            path: Path_ = ("services", s_index, "backups", b_index)
            first_backup = first_backup or path
            if source.repository not in repositories:
                yield Problem(
                    (*path, "repository"),
                    *_unknown(
                        "repository",
                        source.repository,
                        repositories,
                        "declare it under repositories: (kind: local, path: /var/backups/reprise)",
                    ),
                )
            name = default_source_name(service.id, source)
            if name in names:
                yield Problem(
                    (*path, "name") if source.name else path,
                    f"two backups write to the same folder {name!r}",
                    "give one of them its own name: (it becomes the repository folder)",
                )
            names[name] = path
        if service.drill is not None and not service.backups:
            yield Problem(
                ("services", s_index, "drill"),
                "a drill restores backups, and this service has none",
                "add a backups: entry, or remove drill",
            )
        if service.integrity and not any(
            isinstance(source, PostgresSource | PostgresPhysicalSource)
            for source in service.backups
        ):
            yield Problem(
                ("services", s_index, "integrity"),
                "integrity assertions run on a restored PostgreSQL database, and "
                "this service has no PostgreSQL backup",
                "add a postgres backup, or remove integrity",
            )
    if first_backup and not (plan.keys.recipients or plan.keys.recipients_file):
        yield Problem(
            first_backup,
            "backups are encrypted, and the plan has no age recipient to encrypt them to",
            "add keys.recipients_file (written by `reprise init`) or keys.recipients: [age1…]",
        )


def _integrity_assertions(plan: Plan) -> Iterator[Problem]:
    for s_index, service in enumerate(plan.services):
        for index, assertion in enumerate(service.integrity):
            statements = split_statements(assertion)
            if statements is not None and len(statements) > 1:
                yield Problem(
                    ("services", s_index, "integrity", index),
                    f"this assertion holds {len(statements)} statements; a drill "
                    "runs each assertion as one read-only query that returns true",
                    "split it into one list item per check, each a single SELECT",
                )


def _cycles(plan: Plan) -> Iterator[Problem]:
    known = {service.id for service in plan.services}
    graph = {
        service.id: [d for d in service.depends_on if d in known and d != service.id]
        for service in plan.services
    }
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle: list[str] = list(reversed(error.args[1]))
        first = cycle[0]
        index = next(i for i, s in enumerate(plan.services) if s.id == first)
        dep_index = plan.services[index].depends_on.index(cycle[1])
        yield Problem(
            ("services", index, "depends_on", dep_index),
            "dependency cycle: " + " → ".join(cycle) + " (→: depends on)",
            "remove one of these depends_on links; recovery needs an order",
        )


def _scenario_parameters(plan: Plan) -> Iterator[Problem]:
    for c_index, scenario in enumerate(plan.scenarios):
        declared = {parameter.name for parameter in scenario.parameters} | {"incident"}
        for index, step in enumerate(scenario.steps):
            for field, text in step_texts(step):
                path: Path_ = ("scenarios", c_index, "steps", index, field)
                for written in template_errors(text):
                    yield Problem(
                        path,
                        f"{written} is not a plain parameter: runbooks "
                        "replace {{ name }} only, with no filters, "
                        "attributes or expressions",
                        "write a declared parameter alone between the braces, "
                        "e.g. {{ host }}, and do the rest in the command; for "
                        "literal braces (docker --format '{{.Names}}'), put the "
                        "command in a script",
                    )
                for name in PARAMETER.findall(text):
                    if name not in declared:
                        yield Problem(
                            path,
                            f"{{{{ {name} }}}} is not a parameter of this scenario",
                            f"declare it under parameters: (name: {name}, description: …)",
                        )
        in_commands = command_parameters(scenario.steps)
        for p_index, parameter in enumerate(scenario.parameters):
            if parameter.default is None:
                continue
            problem = parameter_value_problem(
                parameter.default, in_command=parameter.name in in_commands
            )
            if problem:
                message, hint = problem
                yield Problem(
                    ("scenarios", c_index, "parameters", p_index, "default"),
                    f"default of parameter {parameter.name!r}: {message}",
                    hint,
                )


def _alerting_references(plan: Plan) -> Iterator[Problem]:
    roles = {role.id for role in plan.roles}
    services = {service.id for service in plan.services}
    for r_index, route in enumerate(plan.alerting.routes):
        for index, role_id in enumerate(route.roles):
            if role_id not in roles:
                yield Problem(
                    ("alerting", "routes", r_index, "roles", index),
                    *_unknown(
                        "role", role_id, roles, "declare it under roles: (id, title, members)"
                    ),
                )
        for index, service_id in enumerate(route.services):
            if service_id not in services:
                yield Problem(
                    ("alerting", "routes", r_index, "services", index),
                    *_unknown("service", service_id, services, "declare it under services:"),
                )
    for w_index, window in enumerate(plan.alerting.maintenance):
        for index, service_id in enumerate(window.services):
            if service_id not in services:
                yield Problem(
                    ("alerting", "maintenance", w_index, "services", index),
                    *_unknown("service", service_id, services, "declare it under services:"),
                )


def _status_page_references(plan: Plan) -> Iterator[Problem]:
    services = {service.id for service in plan.services}
    listed: dict[str, int] = {}
    for index, entry in enumerate(plan.status_page.services):
        path: Path_ = ("status_page", "services", index, "service")
        if entry.service not in services:
            message, hint = _unknown(
                "service", entry.service, services, "declare it under services:"
            )
            yield Problem(
                path,
                f"status page entry {entry.name!r}: {message}",
                f"{hint} (service: takes the id of one of the plan's services)",
            )
        elif entry.service in listed:
            yield Problem(
                path,
                f"service {entry.service!r} is listed twice on the status page "
                f"(also status_page.services[{listed[entry.service]}])",
                "list each service once",
            )
        else:
            listed[entry.service] = index


def _heartbeat_tokens(plan: Plan) -> Iterator[Problem]:
    """Each heartbeat has its own token: a ping must say which job it is about. The token
    itself is never repeated in the message."""
    first: dict[str, str] = {}
    for s_index, service in enumerate(plan.services):
        for c_index, check in enumerate(service.checks):
            if not isinstance(check, HeartbeatCheck):
                continue
            place = f"services[{s_index}].checks[{c_index}]"
            if check.token in first:
                yield Problem(
                    ("services", s_index, "checks", c_index, "token"),
                    f"this heartbeat token is already the token of {first[check.token]}",
                    "give each heartbeat check its own token (secrets.token_urlsafe(24))",
                )
            else:
                first[check.token] = f"{place} ({service.id})"


def _logins(plan: Plan) -> Iterator[Problem]:
    """A login names one person: the same login on two different names would let one sign
    in with the other's permission."""
    first: dict[str, tuple[str, str]] = {}
    for r_index, role in enumerate(plan.roles):
        for m_index, member in enumerate(role.members):
            if member.login is None:
                continue
            known = first.get(member.login)
            if known is None:
                first[member.login] = (member.name, f"roles[{r_index}].members[{m_index}]")
            elif known[0] != member.name:
                yield Problem(
                    ("roles", r_index, "members", m_index, "login"),
                    f"login {member.login!r} is already {known[0]!r}'s ({known[1]})",
                    "give each person their own login; the same person in several roles "
                    "keeps the same name and login",
                )
