"""Which backend serves each kind of repository the plan accepts.

One entry per member of the plan's repository union (``reprise.plan.model.Repository``),
keyed by its ``kind``: a new kind of storage is one backend module (implementing
:class:`~reprise.repository.backend.Backend`), one plan model, and one line here.
Factories import their module on first use, so a plan without S3 never loads boto3.
A new kind also gets one line in ``BUILDERS`` of ``tests/integration/test_backend_contract.py``
(the suite every backend must pass; it fails until the line is there), and
``docs/plan-reference.md`` is regenerated (``python -m reprise.plan.reference``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class BackendKind:
    """One kind of storage: how to open it, and what it costs to use."""

    open: BackendFactory
    cheap_listing: bool
    """Listing every object costs next to nothing (a local folder): commands may do it just
    to give a hint, such as backups on disk that the catalog does not know."""


BACKENDS: dict[str, BackendKind] = {
    "local": BackendKind(_local, cheap_listing=True),
    "s3": BackendKind(_s3, cheap_listing=False),
}
"""Repository kind → its backend."""


def backend_for(settings: Repository) -> Backend:
    """The backend of one repository of the plan, built from its settings."""
    return BACKENDS[settings.kind].open(settings)


def cheap_listing(settings: Repository) -> bool:
    """Whether listing this repository costs next to nothing (see ``BackendKind``)."""
    return BACKENDS[settings.kind].cheap_listing


__all__ = ["BACKENDS", "BackendFactory", "BackendKind", "backend_for", "cheap_listing"]
