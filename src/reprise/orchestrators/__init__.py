"""The top floor of the core: what runs other parts in order over time.

The monitor daemon (checks → board → alerts → incidents), the status of every service now,
and runbook execution. They may import any domain below them; nothing below imports them.
"""
