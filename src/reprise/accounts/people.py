"""The people who may sign in: the plan's members with a ``login``. Permissions always come
from the plan (the member's roles), never from the state, so that removing someone from the
plan removes their access at the next reload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reprise.plan.model import Plan

RANKS = {"viewer": 0, "responder": 1, "admin": 2}
"""Each permission includes those of lower rank."""


@dataclass(frozen=True)
class Person:
    """A member who signs in: login, name, the strongest permission of their roles, and
    the roles' ids."""

    login: str
    name: str
    permission: str
    roles: tuple[str, ...]

    def may(self, permission: str) -> bool:
        """Whether this person holds ``permission`` (admin may everything)."""
        return RANKS[self.permission] >= RANKS[permission]


def allows(held: str, needed: str) -> bool:
    """Whether a holder of ``held`` may do what needs ``needed``."""
    return RANKS[held] >= RANKS[needed]


def people(plan: Plan) -> dict[str, Person]:
    """Login → person, for every member with a login (a member listed in several roles is
    one person with the strongest of their permissions)."""
    found: dict[str, Person] = {}
    for role in plan.roles:
        for member in role.members:
            if member.login is None:
                continue
            known = found.get(member.login)
            if known is None:
                found[member.login] = Person(member.login, member.name, role.permission, (role.id,))
                continue
            strongest = max(known.permission, role.permission, key=RANKS.__getitem__)
            found[member.login] = Person(
                known.login, known.name, strongest, (*known.roles, role.id)
            )
    return found


def person(plan: Plan, login: str) -> Person | None:
    """The member with this login, if the plan has one."""
    return people(plan).get(login)
