"""RADIUS towards the mobile network: accounting (usage), authorization, where a card is.

``simdesk radius`` runs the UDP server; network access servers and their shared
secrets are managed by staff (``NasClient``). Enforcement towards the network
(Disconnect-Request) is the ``radius`` network adapter in ``simdesk.cards.network``.
"""
