"""Test-only scheduled jobs, added with ``WORKER_SCHEDULE_EXTRA=tests.scheduled_jobs:EVERY_SECOND``.

Only declarations: the scheduler imports this module and must not import
actors.  ``tick_probe`` lives in ``tests.probes`` (so it is routed to
``default``) and receives the tick it was enqueued for, which makes a
tick enqueued twice, or not at all, visible in the queue.
"""

from core.schedule import ScheduledJob

EVERY_SECOND = (
    ScheduledJob(
        "tick_probe",
        "Test-only: the tick probe, every second",
        every=1,
        module="tests.probes",
        actor_name="tick_probe",
        queue="default",
        tick_kwarg="tick",
    ),
)

SETTING = f"{__name__}:EVERY_SECOND"
