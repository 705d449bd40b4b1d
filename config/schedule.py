"""Every periodic job simdesk runs, in one visible place.

The clock (``simdesk clock``, or inside ``simdesk run``) enqueues each sweep when
its interval has passed; the sweep finds due items and enqueues one task per item.
"""

from datetime import timedelta

from simdesk.core.sweeps import Sweep

SCHEDULE: list[Sweep] = [
    Sweep("clear-expired-sessions", "simdesk.core.tasks.clear_expired_sessions",
          timedelta(hours=6)),
    Sweep("prune-task-results", "simdesk.core.tasks.prune_finished_task_results",
          timedelta(hours=24)),
    # Expire ended periods, mark used-up ones, start queued ones (one task per due card).
    Sweep("cards-advance-periods", "simdesk.cards.tasks.cards_advance_sweep",
          timedelta(minutes=1)),
]
