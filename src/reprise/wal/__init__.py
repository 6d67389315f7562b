"""The WAL archive: segments pushed by PostgreSQL's archive_command, fetched back for
point-in-time recovery, and the order in which a recovery replays them."""
