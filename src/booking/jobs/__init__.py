"""Timed work: one scheduler, run by `booking worker` and by `booking serve` when the relay runs
in-process (BOOKING_RELAY_IN_PROCESS), waking every BOOKING_JOBS_INTERVAL_SECONDS.

Modules:

- ``registry``: ``JOBS`` and the ``@job(name)`` decorator.
- ``scheduler``: ``Scheduler.tick()`` runs every registered job once (tests call it with a
  frozen clock); ``Scheduler.run(stop)`` ticks until stopped.
- ``service``: the scheduler's own jobs (request expiry, visit reminders, the desk's digest).
- ``models``: what those jobs have done (``visit_reminders``, ``desk_digests``).

Registering a job from another module (one line and a function)::

    from booking.jobs.registry import job

    @job("offers.expire")
    async def expire_offers(session: AsyncSession, now: dt.datetime, settings: Settings) -> int:
        ...  # find due work with an indexed query, do it, return how many things were done

The module must be imported for its jobs to be registered: add it to the imports at the top of
``booking.jobs.scheduler``.

What a job may rely on, and must promise:

- It runs once per tick with the tick's ``now`` (the injectable clock: UTC, aware) and the
  settings, inside a transaction the scheduler commits when it returns and rolls back when it
  raises. It adds and flushes; it never commits. Changes of an appointment go through
  ``appointments.service.perform`` (with ``appointments.service.SYSTEM`` as the actor).
- On PostgreSQL the scheduler holds an advisory lock of the job's name for the transaction: one
  worker at a time runs it. That is an economy, not the guarantee: the job must be idempotent
  by itself. Whatever it must do once, it records in a row with a unique key written in the same
  transaction as its outbox rows (``service.insert_once``), and it reads due rows ``FOR UPDATE
  SKIP LOCKED`` (``with_for_update(skip_locked=True)``; SQLite, one process, ignores it).
- It finds due work with an indexed range query and handles a bounded batch per tick.
- Logs name ids and references only; emails leave through the outbox.
"""
