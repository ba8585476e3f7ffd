"""The checks. Each returns a list of Result rows (op x dtype x backend)."""
