"""``reprise doctor``: checks of an installation end to end, as pgBackRest's ``check`` and
Healthchecks' system checks do. One module per family of checks; each returns
:class:`~reprise.doctor.checks.Check` results with a stable id, a verdict and a fix. Nothing
here prints: the use case renders the words, the door shows them."""
