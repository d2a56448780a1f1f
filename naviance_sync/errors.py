from django.shortcuts import render


def permission_denied(request, exception=None):
    message = (
        str(exception) if exception and str(exception) else "You do not have access to this page."
    )
    return render(request, "403.html", {"message": message}, status=403)


def not_found(request, exception=None):
    return render(request, "404.html", status=404)
