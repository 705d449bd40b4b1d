from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "simdesk.accounts"
    label = "accounts"
