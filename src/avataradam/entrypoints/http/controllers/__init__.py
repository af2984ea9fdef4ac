"""HTTP controllers, thin: parse, call one use case, shape the answer."""
