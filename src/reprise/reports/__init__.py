"""Reports for people: Jinja2 templates and the functions that render them from view models
(plain data the domains build), in the words of ``reprise.words``. No domain is imported
here, so any domain may render a report."""
