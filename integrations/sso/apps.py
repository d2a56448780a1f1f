from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "integrations.sso"
    label = "clever_sso"
    verbose_name = "Clever single sign-on"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the login receiver
