"""The ASGI application (``uvicorn chatsite.asgi:application``): the page streams with the async
view."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
application = get_asgi_application()
