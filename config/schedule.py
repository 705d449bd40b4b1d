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
    # End customer pauses that reached their plan's maximum (one task per card; e-mail).
    Sweep("cards-pause-expire", "simdesk.cards.tasks.cards_pause_expire_sweep",
          timedelta(minutes=1)),
    # Expire orders unpaid after ORDER_PAYMENT_TIMEOUT_MINUTES (their coupons are released).
    Sweep("orders-expire", "simdesk.orders.tasks.orders_expire_sweep", timedelta(minutes=1)),
    # Paid orders whose period was not made yet (e.g. no eSIM in stock) get another try.
    Sweep("orders-fulfil", "simdesk.orders.tasks.orders_fulfil_sweep", timedelta(minutes=5)),
    # Plan changes "now" whose old period's refund did not happen after commit.
    Sweep("orders-plan-change-refunds", "simdesk.orders.tasks.plan_changes_refund_sweep",
          timedelta(minutes=5)),
    # Payments: retry webhook events whose processing failed; ask gateways about
    # payments whose outcome is unknown; resend due sandbox webhooks.
    Sweep("payments-webhook-retry", "simdesk.payments.tasks.webhook_events_retry_sweep",
          timedelta(minutes=1)),
    Sweep("payments-reconcile", "simdesk.payments.tasks.payments_reconcile_sweep",
          timedelta(minutes=2)),
    Sweep("sandbox-webhook-deliveries",
          "simdesk.payments.tasks.sandbox_webhook_deliveries_sweep", timedelta(seconds=15)),
    # Send e-mails whose task was lost and retry failed ones after their backoff.
    Sweep("notifications-retry", "simdesk.notifications.tasks.notifications_retry_sweep",
          timedelta(minutes=1)),
    # Carry out network requests (activate, suspend…) not yet done, with backoff.
    Sweep("network-actions-retry", "simdesk.cards.network.tasks.network_actions_retry_sweep",
          timedelta(minutes=1)),
    # Auto-renewal: charge cards whose trigger is met, remind before scheduled charges,
    # retry declined charges on the dunning schedule (one task per card).
    Sweep("renewals-due", "simdesk.renewals.tasks.renewals_due_sweep", timedelta(minutes=1)),
    Sweep("renewal-reminders", "simdesk.renewals.tasks.renewal_reminders_sweep",
          timedelta(minutes=5)),
    Sweep("renewal-dunning-retries", "simdesk.renewals.tasks.renewal_retries_sweep",
          timedelta(minutes=1)),
    # Rate stored usage records left waiting (a process stopped between storing and
    # rating them, an import cut short); the API and RADIUS rate their own at once.
    Sweep("usage-rate-pending", "simdesk.usage.tasks.usage_rate_pending_sweep",
          timedelta(minutes=1)),
    # Usage and expiry alerts at each customer's thresholds, once per period per threshold.
    Sweep("usage-alerts", "simdesk.usage.tasks.alerts_sweep", timedelta(minutes=5)),
    # Outgoing webhooks to integrators: retries after their backoff and lost sends.
    Sweep("webhook-deliveries", "simdesk.integrations.tasks.webhook_deliveries_sweep",
          timedelta(minutes=1)),
    # Support: resolve tickets left waiting on the customer for SUPPORT_TICKET_AUTO_CLOSE_DAYS;
    # e-mail started announcements to customers who opted in to offers (once each).
    Sweep("support-tickets-auto-close", "simdesk.support.tasks.tickets_auto_close_sweep",
          timedelta(minutes=15)),
    Sweep("support-announcements-email", "simdesk.support.tasks.announcements_email_sweep",
          timedelta(minutes=5)),
]
