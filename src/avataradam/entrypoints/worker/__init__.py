"""Background worker: Dramatiq actors over the use cases."""
