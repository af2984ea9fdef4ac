"""The harness shared by the tests, the drills and the benchmark: child processes
(`processes`) and the settings of a throwaway deployment (`environment`)."""
