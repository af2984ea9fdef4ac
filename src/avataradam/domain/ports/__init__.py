"""Ports: the Protocols that adapters implement. Named by role, one contract each."""
