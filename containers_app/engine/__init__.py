"""The only package that talks to the Docker Engine: plain dataclasses out, EngineError raised."""

from containers_app.engine.client import Engine
from containers_app.engine.errors import (
    Conflict,
    EngineError,
    EngineUnavailable,
    InvalidRequest,
    NotFound,
)

__all__ = [
    "Conflict",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "InvalidRequest",
    "NotFound",
]
