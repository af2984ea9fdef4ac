"""Dramatiq on Redis: the broker and the `TaskQueue` adapter."""
