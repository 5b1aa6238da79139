"""Websocket routes. Consumers live in containers_app/consumers/."""

websocket_urlpatterns: list = []
