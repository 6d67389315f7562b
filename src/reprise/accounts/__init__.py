"""Who may use the web and the API: the plan's members who have a login (their roles give
the permission), their passwords, API tokens, and the keys the web signs with."""
