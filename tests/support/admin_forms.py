"""Django admin's forms as a browser posts them."""

from __future__ import annotations

from django.forms import MultiWidget


def change_form_data(client, url) -> dict:
    """What Django admin's change form posts back unchanged."""
    response = client.get(url, secure=True)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data: dict = {}
    for name in form.fields:
        value = form[name].value()
        widget = form.fields[name].widget
        if isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                if part is not None:
                    data[f"{name}_{i}"] = str(part)
            continue
        if value is None or value is False:
            continue
        data[name] = [str(v) for v in value] if isinstance(value, list | tuple) else value
    return data
