"""Appointment requests: created by patients, moved through their lifecycle by the front desk."""
