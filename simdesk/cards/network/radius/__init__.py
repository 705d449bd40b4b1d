"""Enforcement on RADIUS networks: Disconnect-Request (RFC 5176) to the network access
server that carries a card's open session. ``client.py`` is the only module that
imports pyrad; which sessions a card has is asked of the RADIUS app through
``settings.RADIUS_SESSION_LOCATOR`` (the sessions are recorded by its accounting server,
which sits above this layer)."""

from .adapter import RadiusNetworkAdapter
from .base import DisconnectTarget

__all__ = ["DisconnectTarget", "RadiusNetworkAdapter"]
