"""The sandbox's test cards: public numbers, each with a fixed behaviour."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    behaviour: str  # succeed | decline | authenticate | succeed_then_decline
    failure_code: str
    description: str

    @property
    def display(self) -> str:
        return " ".join(self.number[i:i + 4] for i in range(0, len(self.number), 4))

    @property
    def last4(self) -> str:
        return self.number[-4:]


TEST_CARDS: list[TestCard] = [
    TestCard("4242424242424242", "Visa", "succeed", "", _("Always succeeds.")),
    TestCard("4000000000000002", "Visa", "decline", "card_declined",
             _("Always declined: card declined.")),
    TestCard("4000002500003155", "Visa", "authenticate", "",
             _("Needs authentication: you confirm the payment on an extra step. Saved for "
               "renewals, its charges need the customer again.")),
    TestCard("4000000000009995", "Visa", "decline", "insufficient_funds",
             _("Always declined: insufficient funds.")),
    TestCard("4000000000000341", "Visa", "succeed_then_decline", "card_declined",
             _("Succeeds now; once saved, renewal charges with it are declined.")),
]


def test_card_find(number: str) -> TestCard | None:
    digits = "".join(ch for ch in number if ch.isdigit())
    return next((card for card in TEST_CARDS if card.number == digits), None)
