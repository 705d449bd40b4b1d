"""Writes of the RADIUS app: accounting batches (``accounting``)."""
