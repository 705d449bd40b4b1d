from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Apply a signed-in user's saved language and time zone to the request.

    Runs after LocaleMiddleware: the browser's Accept-Language and the language
    cookie decide for anonymous visitors; a signed-in user's saved choice wins —
    except on the API, where a caller that sends Accept-Language asked for that
    language explicitly (a program, not a browser tab), so the header wins there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            explicit = (request.path.startswith("/api/")
                        and request.headers.get("Accept-Language"))
            if user.language and not explicit:
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
            timezone.activate(user.zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
