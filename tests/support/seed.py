"""The seed PCRA's infrastructure as a plan for the tests: it lives in :mod:`devsupport.seed`,
shared with the demo scripts."""

from __future__ import annotations

from devsupport.seed import ELEMENTS, NAMES, SEED, wait_until, write_seed_plan

__all__ = ["ELEMENTS", "NAMES", "SEED", "wait_until", "write_seed_plan"]
