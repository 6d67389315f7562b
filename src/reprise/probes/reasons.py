"""System failures in the plan's language: common errno and name-resolution codes have
words in the catalog (``probe.os.*``); any other keeps the system's own text."""

from __future__ import annotations

import errno
import socket

from reprise.words import say

_ERRNO = {
    code: f"probe.os.{errno.errorcode[code]}"
    for code in (
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENOENT,
        errno.EACCES,
    )
}
_RESOLUTION = {
    getattr(socket, name): f"probe.os.{name}"
    for name in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA")
    if hasattr(socket, name)
}


def os_reason(language: str, error: OSError) -> str:
    """Why the system said no, in ``language`` when the code is a common one."""
    table = _RESOLUTION if isinstance(error, socket.gaierror) else _ERRNO
    key = table.get(error.errno) if error.errno is not None else None
    if key is not None:
        return say(language, key)
    return str(error.strerror or error)
