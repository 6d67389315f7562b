"""Scheduled jobs: their runs in the state store, claimed so that each time slot runs once."""
