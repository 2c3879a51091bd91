"""Use cases: the only code that combines the rules, the store and the in-memory view."""
