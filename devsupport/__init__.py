"""Development support shared by the tests, the demo scripts and the benchmarks.

Not shipped (it lives outside ``src/``): real servers on loopback (:mod:`devsupport.peers`)
and the seed PCRA's infrastructure as a plan (:mod:`devsupport.seed`). ``scripts/`` and
``bench/`` import it from the repository root; ``tests/support`` re-exports it, so the
tests read as before.
"""
