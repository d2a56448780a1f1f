from django.apps import AppConfig


class NavianceSyncConfig(AppConfig):
    name = "naviance_sync"
    verbose_name = "Districts"
