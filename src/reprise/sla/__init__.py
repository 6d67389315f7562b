"""Service levels: uptime, outages, RPO achieved and RTO measured over a period, each
against the plan's objectives (the seed's METRICS.md)."""
