from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "simdesk.catalog"
    label = "catalog"
