"""Representation only: one element tree rendered as JSON or XML, and request bodies parsed back."""
