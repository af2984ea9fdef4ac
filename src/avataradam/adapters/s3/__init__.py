"""Adapters on S3-compatible object storage."""
