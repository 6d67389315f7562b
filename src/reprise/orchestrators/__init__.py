"""The top floor of the core: what runs other parts in order over time.

The monitor daemon (checks → board → alerts → incidents), the status of every service now,
and runbook execution (each kind of step by its executor, registered in ``steps.py``).
They may import any domain below them; nothing below imports them.
"""
