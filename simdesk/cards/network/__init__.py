"""The mobile network behind the cards: one adapter interface, chosen by
``settings.NETWORK_ADAPTER`` ("simulated" by default, or a dotted class path).

``network_request`` is the one way code asks the network for something."""

from .base import NetworkAdapter, NetworkError, NetworkRejected, NetworkResult
from .services import get_network_adapter, network_action_perform, network_request

__all__ = ["NetworkAdapter", "NetworkError", "NetworkRejected", "NetworkResult",
           "get_network_adapter", "network_action_perform", "network_request"]
