"""What every request needs: the plan in force (a reloaded plan replaces it), the state
store, the clock, and the keys the web signs with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reprise.accounts.keys import signing_secret

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store.database import Store


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class Site:
    """The web's view of Reprise. ``plan`` is replaced when the service reloads it."""

    plan: Plan
    store: Store
    clock: Callable[[], datetime] = utc_now
    secrets: dict[str, str] = field(default_factory=dict)

    def secret(self, name: str) -> str:
        """A signing key (made once, kept in the state)."""
        if name not in self.secrets:
            self.secrets[name] = signing_secret(self.store, name, self.clock())
        return self.secrets[name]

    @property
    def language(self) -> str:
        """The plan's language, the pages' default."""
        return self.plan.organisation.language

    @property
    def secure_cookies(self) -> bool:
        """Whether people reach the web over TLS (a reverse proxy in front)."""
        base = self.plan.web.base_url
        return base is not None and base.startswith("https://")
