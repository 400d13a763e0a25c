"""The WSGI application (``manage.py runserver``, gunicorn): the page streams with the sync view."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
application = get_wsgi_application()
