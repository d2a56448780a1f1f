from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Clever integration"

    def ready(self) -> None:
        from staff import selectors as staff_selectors

        from .selectors import staff_title_counts

        # Staff Import Settings' keyword editor suggests the titles the last staff import read.
        if staff_title_counts not in staff_selectors.TITLE_COUNT_SOURCES:
            staff_selectors.TITLE_COUNT_SOURCES.append(staff_title_counts)
