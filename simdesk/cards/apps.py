from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "simdesk.cards"
    label = "cards"
