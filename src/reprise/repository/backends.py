"""Which backend serves each kind of repository the plan accepts.

One entry per member of the plan's repository union (``reprise.plan.model.Repository``),
keyed by its ``kind``: a new kind of storage is one backend module (implementing
:class:`~reprise.repository.backend.Backend`), one plan model, and one line here.
Factories import their module on first use, so a plan without S3 never loads boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reprise.plan.model import LocalRepository, Repository, S3Repository
    from reprise.repository.backend import Backend


def _local(settings: LocalRepository) -> Backend:
    from reprise.repository.local import LocalBackend

    return LocalBackend(settings.path)


def _s3(settings: S3Repository) -> Backend:
    from reprise.repository.s3 import S3Backend

    return S3Backend(settings)


BackendFactory = Callable[[Any], "Backend"]
"""Builds a backend from the plan's settings of one repository (the model of its kind)."""

BACKENDS: dict[str, BackendFactory] = {
    "local": _local,
    "s3": _s3,
}
"""Repository kind → the factory of its backend."""


def backend_for(settings: Repository) -> Backend:
    """The backend of one repository of the plan, built from its settings."""
    return BACKENDS[settings.kind](settings)


__all__ = ["BACKENDS", "BackendFactory", "backend_for"]
