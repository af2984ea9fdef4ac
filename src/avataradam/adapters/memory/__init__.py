"""In-memory twins of every port, for tests and the demo profile."""
