"""Reprise: a continuity plan (PCRA / PRA) as code.

Watches services, keeps backups that are proven restorable, drives the recovery and
measures the RPO, RTO and uptime that the plan promises.
"""

__version__ = "0.1.0"

import logging as _logging

# A library logs and lets the application decide where logs go; without a handler Python
# would print warnings on stderr next to the CLI's own message.
_logging.getLogger("reprise").addHandler(_logging.NullHandler())
