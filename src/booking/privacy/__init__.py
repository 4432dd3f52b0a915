"""Retention: closed requests are anonymised after BOOKING_RETENTION_DAYS (`booking purge`)."""
