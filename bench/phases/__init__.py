"""One module per benchmark phase; `bench.run` runs them in order."""
