"""Restores, point-in-time recovery and drills.

Every restore first verifies: the manifest's signature, then each part's stored checksum
and, while it is decrypted into a staging area, its plain checksum. Only once every part
has passed does anything touch the target (a server, a directory).
"""
