"""Where Reprise keeps things on a host when the plan does not say."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_STATE_DIR = Path("/var/lib/reprise")


def default_state_dir() -> Path:
    """``$REPRISE_STATE_DIR``, else /var/lib/reprise for root, else the XDG state home."""
    configured = os.environ.get("REPRISE_STATE_DIR")
    if configured:
        return Path(configured).expanduser()
    if os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "reprise"
