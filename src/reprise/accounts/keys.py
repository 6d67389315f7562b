"""The keys the web signs with (session cookies, acknowledgement links): random, made at
first use and kept in the state, so that every service on a shared state agrees and a
restart signs no one out."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from reprise.store.tables import web_secrets

if TYPE_CHECKING:
    from reprise.store.database import Store


def signing_secret(store: Store, name: str, at: datetime) -> str:
    """The secret called ``name``, made now if there is none yet."""
    query = select(web_secrets.c.value).where(web_secrets.c.name == name)
    with store.engine.connect() as connection:
        value = connection.execute(query).scalar()
    if value is not None:
        return str(value)
    try:
        with store.engine.begin() as connection:
            connection.execute(
                insert(web_secrets).values(name=name, value=secrets.token_hex(32), created_at=at)
            )
    except IntegrityError:  # another service made it first: use theirs
        pass
    with store.engine.connect() as connection:
        return str(connection.execute(query).scalar_one())
