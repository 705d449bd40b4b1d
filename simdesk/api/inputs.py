"""Rules every operation's input follows, checked once for all of them."""

from functools import wraps

from django.utils.translation import gettext as _
from ninja.errors import ValidationError
from pydantic import BaseModel


def _nul_paths(value, path: tuple) -> list[tuple]:
    """Where in ``value`` (parsed input) a string holds a NUL character."""
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, dict):
        return [found for key, item in value.items()
                for found in _nul_paths(item, (*path, str(key)))]
    if isinstance(value, list | tuple):
        return [found for index, item in enumerate(value)
                for found in _nul_paths(item, (*path, index))]
    return []


def refuse_nul_characters(view_func):
    """A NUL character is valid JSON but no text a person writes, and PostgreSQL cannot
    store it: refuse it with 400 naming the field, before any service sees it."""

    @wraps(view_func)
    def checked(request, *args, **kwargs):
        found = [path for name, value in kwargs.items() for path in _nul_paths(value, (name,))]
        if found:
            # ("body", parameter, field…) is how ninja names a field; errors.py shortens it.
            raise ValidationError([
                {"loc": ("body", *path) if len(path) > 1 else ("query", *path),
                 "msg": _("Text may not contain NUL (\\u0000) characters.")}
                for path in found])
        return view_func(request, *args, **kwargs)

    return checked
