"""Backup sources: each turns a plan entry into parts, streams of plain bytes to store."""
