from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from naviance_sync.services import district_created

        district_created.connect(_district_created, dispatch_uid="staff.district_defaults")


def _district_created(sender, *, district, actor=None, **kwargs) -> None:
    """A new district starts with the usual roles and functions (the staff guide's)."""
    from .services import district_staff_defaults_create

    district_staff_defaults_create(district=district, actor=actor)
