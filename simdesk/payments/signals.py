"""What the payments app tells the rest of simdesk.

Each signal is sent with ``payment=`` only after the transaction that changed
the payment has committed (``transaction.on_commit``), at most once per status
move. Apps above payments (orders, renewals) connect receivers in their
AppConfig.ready; payments never imports them.
"""

from django.dispatch import Signal

payment_succeeded = Signal()  # payment=
payment_failed = Signal()  # payment= (status failed or cancelled; payment.failure_reason)
payment_requires_action = Signal()  # payment= (off-session charge needs the customer)
payment_refunded = Signal()  # payment=, refund=
