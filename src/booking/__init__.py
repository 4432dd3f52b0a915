"""booking: appointment requests for a spine practice."""

__version__ = "0.1.0"
