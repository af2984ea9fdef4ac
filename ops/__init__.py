"""Operations tooling: failure drills and helper scripts, importable by the tests."""
