from django.urls import path

from . import views

app_name = "chat"
urlpatterns = [
    path("", views.index, name="index"),
    path("new", views.new, name="new"),
    path("c/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("c/<uuid:conversation_id>/stream", views.stream, name="stream"),
    path("c/<uuid:conversation_id>/astream", views.astream, name="astream"),
]
