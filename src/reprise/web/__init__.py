"""The web door: pages for people (server-rendered, French or English), the public status
page, heartbeat pings, the JSON API and Prometheus metrics, all calling the same use cases
as the CLI. It runs inside `reprise serve` or alone (`reprise web`)."""
