"""What every door calls: one module per use case.

Each use case is a plain function (or a small class) that takes the plan, the open state
database and a request object, and returns a typed result. It never prints, never exits and
never names a door's flags (``reprise.errors.option`` refers to a request setting); the CLI,
the service and the web render its result and its errors their own way.
"""
