"""Everything simdesk can do to a card: ``grep "def card_\\|def period"`` lists it."""

from .claim import card_claim, card_label_set, claim_code_normalize
from .imports import ImportReport, RowError, cards_import_csv, cards_import_rows
from .ledger import card_lock
from .pause import card_pause, card_pause_expire, card_unpause
from .periods import AdvanceResult, period_adjust, period_close, period_create, periods_advance
from .state import card_resume, card_suspend, card_sync_state
from .usage import DebitResult, card_debit_usage

__all__ = [
    "AdvanceResult", "DebitResult", "ImportReport", "RowError", "card_claim", "card_debit_usage",
    "card_label_set", "card_lock", "card_pause", "card_pause_expire", "card_resume",
    "card_suspend", "card_sync_state", "card_unpause", "cards_import_csv", "cards_import_rows",
    "claim_code_normalize", "period_adjust", "period_close", "period_create", "periods_advance",
]
