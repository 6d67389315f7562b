"""A database's own properties, the part of a server that ``pg_dump`` without ``--create``
leaves out: owner, encoding, collation and ctype (locale provider, ICU locale), default
tablespace, connection limit, settings (``ALTER DATABASE … SET`` and ``ALTER ROLE … IN
DATABASE … SET``), privileges (``GRANT CONNECT``, ``REVOKE … FROM PUBLIC``), comment and
security labels.

They are read at backup time, in the dump's snapshot, into the manifest
(:func:`read_properties`), and replayed at restore time under the target's name, so that
``--as NEW`` keeps them too (``pg_restore --create`` cannot rename). Every name and value
is quoted by psycopg, never pasted into SQL text.

At restore: :func:`create_database` before the content (owner, encoding, locale,
tablespace: what ``CREATE DATABASE`` fixes), :func:`apply_properties` after it (settings
such as ``default_transaction_read_only`` or a low connection limit must not get in the
way of ``pg_restore``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reprise.errors import OperationError, option

if TYPE_CHECKING:
    import psycopg

#: Bumped when the recorded facts change meaning; restores read what they know.
FORMAT = 1

_PROVIDERS = {"c": "libc", "i": "icu", "b": "builtin"}
_PRIVILEGES = frozenset({"CREATE", "CONNECT", "TEMPORARY"})
#: Settings whose value PostgreSQL stores as an already-quoted list of names (pg_dump's
#: ``variable_is_guc_list_quote``): split and given back element by element.
_LIST_SETTINGS = frozenset(
    {
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
        "unix_socket_directories",
    }
)


def _columns(version: int) -> str:
    provider = "d.datlocprovider::text" if version >= 150000 else "'c'"
    locale = (
        "d.datlocale"
        if version >= 170000
        else "d.daticulocale"
        if version >= 150000
        else "NULL::text"
    )
    rules = "d.daticurules" if version >= 160000 else "NULL::text"
    return f"{provider}, {locale}, {rules}"


def read_properties(connection: psycopg.Connection[Any]) -> dict[str, Any]:
    """The current database's properties, as JSON-able facts for the manifest."""
    version = connection.info.server_version
    row = connection.execute(
        "SELECT d.oid, pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), "  # noqa: S608 - fixed column names
        f"d.datcollate, d.datctype, {_columns(version)}, t.spcname, d.datconnlimit, "
        "shobj_description(d.oid, 'pg_database') "
        "FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace "
        "WHERE d.datname = current_database()"
    ).fetchone()
    assert row is not None
    oid = row[0]
    acl_rows = connection.execute(
        "SELECT pg_get_userbyid(a.grantor), "
        "CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, "
        "a.privilege_type, a.is_grantable "
        "FROM pg_database d, aclexplode(d.datacl) WITH ORDINALITY a "
        "WHERE d.oid = %s ORDER BY a.ordinality",
        (oid,),
    ).fetchall()
    has_acl = connection.execute(
        "SELECT datacl IS NOT NULL FROM pg_database WHERE oid = %s", (oid,)
    ).fetchone()
    # Physical order: the order pg_dump reads them in, kept by the restore.
    settings = connection.execute(
        "SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END, "
        "s.setconfig FROM pg_db_role_setting s WHERE s.setdatabase = %s "
        "ORDER BY s.setrole <> 0, s.ctid",
        (oid,),
    ).fetchall()
    labels = connection.execute(
        "SELECT provider, label FROM pg_shseclabel WHERE objoid = %s "
        "AND classoid = 'pg_database'::regclass ORDER BY provider",
        (oid,),
    ).fetchall()
    return {
        "format": FORMAT,
        "owner": row[1],
        "encoding": row[2],
        "collate": row[3],
        "ctype": row[4],
        "locale_provider": _PROVIDERS.get(str(row[5]), str(row[5])),
        "locale": row[6],
        "icu_rules": row[7],
        "tablespace": row[8],
        "connection_limit": row[9],
        "comment": row[10],
        "acl": (
            [
                {
                    "grantor": grantor,
                    "grantee": grantee,
                    "privilege": privilege,
                    "grantable": grantable,
                }
                for grantor, grantee, privilege, grantable in acl_rows
            ]
            if has_acl and has_acl[0]
            else None
        ),
        "settings": [{"role": role, "values": list(values or [])} for role, values in settings],
        "security_labels": [{"provider": provider, "label": label} for provider, label in labels],
    }


def _ident(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(name)


def _literal(value: Any) -> Any:
    from psycopg import sql

    return sql.Literal(value)


def create_statement(
    name: str, facts: dict[str, Any], *, target_version: int, tablespace: bool
) -> Any:
    """``CREATE DATABASE`` with the owner, encoding and locale of the backup's database
    (``tablespace``: whether its tablespace exists on the target)."""
    from psycopg import sql

    parts = [sql.SQL("CREATE DATABASE {} WITH TEMPLATE = template0").format(_ident(name))]
    if facts.get("owner"):
        parts.append(sql.SQL("OWNER = {}").format(_ident(facts["owner"])))
    if facts.get("encoding"):
        parts.append(sql.SQL("ENCODING = {}").format(_literal(facts["encoding"])))
    provider = facts.get("locale_provider") or "libc"
    if target_version >= 150000:
        parts.append(
            sql.SQL("LOCALE_PROVIDER = {}").format(
                sql.SQL({"icu": "icu", "builtin": "builtin"}.get(provider, "libc"))
            )
        )
    for key, setting in (("collate", "LC_COLLATE"), ("ctype", "LC_CTYPE")):
        if facts.get(key):
            parts.append(sql.SQL(f"{setting} = {{}}").format(_literal(facts[key])))
    if provider == "icu" and facts.get("locale"):
        parts.append(sql.SQL("ICU_LOCALE = {}").format(_literal(facts["locale"])))
    if provider == "icu" and facts.get("icu_rules"):
        parts.append(sql.SQL("ICU_RULES = {}").format(_literal(facts["icu_rules"])))
    if provider == "builtin" and facts.get("locale"):
        parts.append(sql.SQL("BUILTIN_LOCALE = {}").format(_literal(facts["locale"])))
    if tablespace:
        parts.append(sql.SQL("TABLESPACE = {}").format(_ident(facts["tablespace"])))
    return sql.SQL(" ").join(parts)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def create_database(
    connection: psycopg.Connection[Any], name: str, facts: dict[str, Any]
) -> list[str]:
    """Create ``name`` as the backup's database was (before its content); warnings."""
    import psycopg

    warnings = []
    tablespace = facts.get("tablespace")
    use_tablespace = False
    if tablespace and tablespace != "pg_default":
        use_tablespace = (
            connection.execute(
                "SELECT 1 FROM pg_tablespace WHERE spcname = %s", (tablespace,)
            ).fetchone()
            is not None
        )
        if not use_tablespace:
            warnings.append(
                f"{name}: tablespace {tablespace!r} does not exist on the "
                "target; the database was created in the default tablespace"
            )
    statement = create_statement(
        name, facts, target_version=connection.info.server_version, tablespace=use_tablespace
    )
    try:
        connection.execute(statement)
    except psycopg.Error as error:
        text = _first_line(error)
        if "locale" in text or "collation" in text or "encoding" in text:
            hint = (
                "install that locale on the target server's machine (Debian: "
                "dpkg-reconfigure locales) and restart PostgreSQL, or restore onto a "
                "server that has it; nothing of this database was written"
            )
        elif "permission denied" in text or "must be" in text:
            hint = (
                f"restore as a superuser, or as a role with CREATEDB that is a member "
                f"of {facts.get('owner')!r}; nothing of this database was written"
            )
        elif "does not exist" in text:
            hint = (
                "restore the backup's roles first (its globals part), or create the "
                "role on the target; nothing of this database was written"
            )
        else:
            hint = "nothing of this database was written; fix the cause and restore again"
        raise OperationError(
            f"cannot create database {name!r} as it was backed up ({_describe(facts)}): {text}",
            hint=hint,
        ) from error
    return warnings


def _describe(facts: dict[str, Any]) -> str:
    text = (
        f"owner {facts.get('owner')}, encoding {facts.get('encoding')}, "
        f"collation {facts.get('collate')}, ctype {facts.get('ctype')}"
    )
    if facts.get("locale_provider") not in (None, "libc"):
        text += f", {facts['locale_provider']} locale {facts.get('locale')}"
    return text


def existing_differences(
    connection: psycopg.Connection[Any], name: str, facts: dict[str, Any]
) -> list[str]:
    """What ``CREATE DATABASE`` would have set differently on a database that already
    existed on the target (it is kept: these cannot be changed afterwards)."""
    version = connection.info.server_version
    row = connection.execute(
        "SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, "  # noqa: S608 - fixed column names
        f"{_columns(version)} FROM pg_database d WHERE d.datname = %s",
        (name,),
    ).fetchone()
    if row is None:
        return []
    found = {
        "encoding": row[0],
        "collate": row[1],
        "ctype": row[2],
        "locale_provider": _PROVIDERS.get(str(row[3]), str(row[3])),
        "locale": row[4],
    }
    differing = [
        f"{key} {found[key]!r} (backup: {facts.get(key)!r})"
        for key in found
        if facts.get(key) is not None
        and found[key] != facts.get(key)
        and not (key == "locale" and facts.get("locale_provider") == "libc")
    ]
    if not differing:
        return []
    return [
        f"{name} already existed on the target with {', '.join(differing)}; kept as it "
        f"is (restore under a new name with {option('as_name')} to get the backup's)"
    ]


@dataclass(frozen=True)
class _Grant:
    grantor: str
    grantee: str | None  # None: PUBLIC
    privilege: str
    grantable: bool


def _target_acl(
    connection: psycopg.Connection[Any], name: str, owner_default: str | None = None
) -> list[_Grant]:
    """The database's privileges on the target, or (``owner_default``) the default ones
    of a database owned by that role."""
    if owner_default is not None:
        query = (
            "SELECT pg_get_userbyid(a.grantor), CASE WHEN a.grantee = 0 THEN NULL "
            "ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable "
            "FROM aclexplode(acldefault('d', (SELECT oid FROM pg_roles "
            "WHERE rolname = %s))) a"
        )
        arguments = (owner_default,)
    else:
        query = (
            "SELECT pg_get_userbyid(a.grantor), CASE WHEN a.grantee = 0 THEN NULL "
            "ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, a.is_grantable "
            "FROM pg_database d, "
            "aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
            "WHERE d.datname = %s"
        )
        arguments = (name,)
    return [_Grant(*row) for row in connection.execute(query, arguments).fetchall()]


def _grantee(grantee: str | None) -> Any:
    from psycopg import sql

    return sql.SQL("PUBLIC") if grantee is None else _ident(grantee)


def _privilege(privilege: str) -> Any:
    from psycopg import sql

    if privilege not in _PRIVILEGES:
        raise OperationError(
            f"unknown database privilege {privilege!r} in the backup",
            hint="restore with a newer Reprise",
        )
    return sql.SQL(privilege)


def _acl_statements(
    connection: psycopg.Connection[Any], name: str, facts: dict[str, Any]
) -> list[tuple[str | None, Any]]:
    """(role to act as, statement) turning the target's privileges into the backup's."""
    from psycopg import sql

    owner = str(facts.get("owner") or "")
    if facts.get("acl") is None:
        wanted = _target_acl(connection, name, owner_default=owner)
    else:
        wanted = [
            _Grant(item["grantor"], item["grantee"], item["privilege"], bool(item["grantable"]))
            for item in facts["acl"]
        ]
    current = _target_acl(connection, name)
    statements: list[tuple[str | None, Any]] = []
    database = _ident(name)
    for grant in current:
        if grant not in wanted:
            statements.append(
                (
                    grant.grantor if grant.grantor != owner else None,
                    sql.SQL("REVOKE {} ON DATABASE {} FROM {} CASCADE").format(
                        _privilege(grant.privilege), database, _grantee(grant.grantee)
                    ),
                )
            )
    # The owner's grants first: other grantors hold their grant option from them.
    missing = [grant for grant in wanted if grant not in current]
    missing.sort(key=lambda grant: grant.grantor != owner)
    for grant in missing:
        statements.append(
            (
                grant.grantor if grant.grantor != owner else None,
                sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                    _privilege(grant.privilege),
                    database,
                    _grantee(grant.grantee),
                    sql.SQL(" WITH GRANT OPTION" if grant.grantable else ""),
                ),
            )
        )
    return statements


def split_list_setting(value: str) -> list[str]:
    """A list setting as PostgreSQL stores it (``"Ventes 2026", public``) into its
    elements, as pg_dump's ``SplitGUCList`` does."""
    elements: list[str] = []
    index, length = 0, len(value)
    while True:
        while index < length and value[index].isspace():
            index += 1
        if index < length and value[index] == '"':
            index += 1
            current = []
            while index < length:
                if value[index] == '"':
                    if index + 1 < length and value[index + 1] == '"':
                        current.append('"')
                        index += 2
                        continue
                    index += 1
                    break
                current.append(value[index])
                index += 1
            element = "".join(current)
        else:
            start = index
            while index < length and value[index] != "," and not value[index].isspace():
                index += 1
            element = value[start:index]
        elements.append(element)
        while index < length and value[index].isspace():
            index += 1
        if index >= length or value[index] != ",":
            break
        index += 1
    return elements


def setting_value(setting: str) -> tuple[str, Any]:
    """``name=value`` as stored in pg_db_role_setting into the name and the SQL value."""
    from psycopg import sql

    name, _sep, value = setting.partition("=")
    if name.lower() in _LIST_SETTINGS:
        return name, sql.SQL(", ").join(_literal(item) for item in split_list_setting(value))
    return name, _literal(value)


def _settings_statements(name: str, facts: dict[str, Any]) -> list[Any]:
    from psycopg import sql

    statements = []
    for entry in facts.get("settings") or []:
        for setting in entry.get("values") or []:
            variable, value = setting_value(setting)
            if entry.get("role") is None:
                statements.append(
                    sql.SQL("ALTER DATABASE {} SET {} TO {}").format(
                        _ident(name), _ident(variable), value
                    )
                )
            else:
                statements.append(
                    sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} TO {}").format(
                        _ident(entry["role"]), _ident(name), _ident(variable), value
                    )
                )
    return statements


def apply_properties(connection: psycopg.Connection[Any], name: str, facts: dict[str, Any]) -> None:
    """Give database ``name`` on the target the backup's owner, settings, connection limit,
    privileges, comment and security labels. Every statement is tried; the ones that fail
    are raised together (the content is restored by then, and the message says so)."""
    import psycopg
    from psycopg import sql

    current = connection.execute(
        "SELECT pg_get_userbyid(datdba), datconnlimit, "
        "shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    assert current is not None
    statements: list[tuple[str | None, Any]] = []
    database = _ident(name)
    if facts.get("owner") and current[0] != facts["owner"]:
        statements.append(
            (
                None,
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(database, _ident(facts["owner"])),
            )
        )
    statements += [(None, statement) for statement in _settings_statements(name, facts)]
    limit = facts.get("connection_limit")
    if isinstance(limit, int) and limit != current[1]:
        statements.append(
            (
                None,
                sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
                    database, sql.Literal(limit)
                ),
            )
        )
    if "comment" in facts and facts["comment"] != current[2]:
        statements.append(
            (
                None,
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    database, sql.Literal(facts["comment"])
                ),
            )
        )
    for label in facts.get("security_labels") or []:
        statements.append(
            (
                None,
                sql.SQL("SECURITY LABEL FOR {} ON DATABASE {} IS {}").format(
                    _ident(label["provider"]), database, sql.Literal(label["label"])
                ),
            )
        )
    failures: list[str] = []
    _run_all(connection, statements, failures)
    # Privileges last: they are computed against the owner set above.
    try:
        acl = _acl_statements(connection, name, facts)
    except psycopg.Error as error:
        failures.append(f"privileges: {_first_line(error)}")
        acl = []
    _run_all(connection, acl, failures)
    if failures:
        raise OperationError(
            f"database {name!r} is restored, but {len(failures)} of its properties could "
            f"not be set: {'; '.join(failures)}",
            hint="run these statements by hand once the cause is fixed (a role missing on "
            f"the target: restore the backup's globals), or restore again with {option('clean')}",
        )


def _run_all(
    connection: psycopg.Connection[Any],
    statements: list[tuple[str | None, Any]],
    failures: list[str],
) -> None:
    import psycopg
    from psycopg import sql

    for role, statement in statements:
        text = statement.as_string(connection)
        try:
            if role is None:
                connection.execute(statement)
            else:
                # Recorded as granted by another role than the owner: granted as that role.
                with connection.transaction():
                    connection.execute(sql.SQL("SET LOCAL ROLE {}").format(_ident(role)))
                    connection.execute(statement)
        except psycopg.Error as error:
            failures.append(f"{text}: {_first_line(error)}")
