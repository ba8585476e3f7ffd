"""The table of public functions that the op modules fill through
tensor.register(); tinyfin/__init__.py copies it into the package namespace."""
FUNCTIONS: dict = {}
