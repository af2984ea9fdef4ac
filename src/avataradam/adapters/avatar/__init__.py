"""Adapters of the `AvatarProvider` port (`domain/ports/speech.py`): streaming
talking-head sessions (`heygen`)."""
