"""Websocket consumers: authenticate, check access, subscribe to a stream, forward."""
