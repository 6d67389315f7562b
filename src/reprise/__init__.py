"""Reprise: a continuity plan (PCRA / PRA) as code.

Watches services, keeps backups that are proven restorable, drives the recovery and
measures the RPO, RTO and uptime that the plan promises.
"""

__version__ = "0.1.0"
