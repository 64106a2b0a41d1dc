"""Shared building blocks; imports no context."""
