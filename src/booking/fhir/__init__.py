"""A read-only FHIR R4 door for the practice's EHR: appointments, schedules and free slots.

The EHR reads what the front desk books, in the standard every EHR speaks, without our JSON
API: ``/fhir/r4`` (``metadata``, ``Appointment``, ``Schedule``, ``Slot``). Everything comes
from the same services as the JSON API (the desk's list, availability), so both always agree.
Errors are OperationOutcomes, rendered by ``booking.errors`` from the same problems.
"""
