from .scoping import request_district


def portal(request):
    district = request_district(request)
    user = getattr(request, "user", None)
    return {
        "current_district": district,
        "can_import": bool(
            user is not None and user.is_authenticated and user.can_import_district_data
        ),
    }
