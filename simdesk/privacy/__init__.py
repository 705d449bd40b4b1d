"""What customers can do with their own data: download it, and delete their account.

This package reads and writes across every domain app (accounts, cards, orders,
payments, renewals, usage, notifications, support), so it sits in the layer
contract above the domain apps and below the interfaces (pyproject's
import-linter contract): accounts, at the bottom, cannot import the apps that
hold a customer's cards and orders.
"""
