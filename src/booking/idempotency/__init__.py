"""Idempotency-Key handling shared by the public POST and every staff action."""
