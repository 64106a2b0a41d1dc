"""Revisions of the booking context, oldest first."""
