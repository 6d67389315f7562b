"""Restore drills: prove, on a schedule, that backups restore, and how fast."""
