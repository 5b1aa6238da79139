"""Several engines asked at once, for the All engines page and a wall screen's first tiles:
every engine asked at the same moment, each answer waited for at most ENGINE_PAGE_TIMEOUT
seconds, and an engine known to be down not asked at all. The list of containers is in
flight at most once per engine however many pages ask (a black-holed engine would otherwise
take a thread per page view)."""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings

from containers_app import health
from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine.containers import ContainerSummary

_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="all-engines")
_in_flight: dict[Engine, Future] = {}
_lock = threading.Lock()
T = TypeVar("T")


@dataclass(frozen=True)
class Listed:
    """One engine's answer: its containers, or why there are none to show."""

    engine: Engine
    containers: list[ContainerSummary]
    problem: str = ""


def containers_of(every: list[Engine]) -> list[Listed]:
    """Each engine's containers (all of them: the caller keeps what its actor may see), in
    the order of `every`."""
    return [
        Listed(engine, containers or [], problem)
        for engine, containers, problem in _at_once(every, _list_call)
    ]


def each(every: list[Engine], call: Callable[[Engine], T]) -> list[tuple[Engine, T | None, str]]:
    """`call(engine)` on every engine at the same moment, as containers_of asks: for each, in
    the order of `every`, what it returned, or None and why not."""
    return _at_once(every, lambda engine: _pool.submit(call, engine))


def _at_once(every: list[Engine], submit: Callable[[Engine], Future]) -> list[tuple]:
    asked: dict[Engine, Future | str] = {}
    for engine in every:
        now = health.of(engine)
        if now.state == health.DOWN:
            asked[engine] = f"down: {now.reason}"
        else:
            asked[engine] = submit(engine)
    futures = [f for f in asked.values() if isinstance(f, Future)]
    wait(futures, timeout=settings.ENGINE_PAGE_TIMEOUT)
    return [(engine, *_outcome(asked[engine])) for engine in every]


def _list_call(engine: Engine) -> Future:
    with _lock:
        running = _in_flight.get(engine)
        if running is not None and not running.done():
            return running
        future = _pool.submit(engine_containers.container_list, engine=engine, all=True)
        _in_flight[engine] = future
    future.add_done_callback(lambda done: _forget(engine, done))
    return future


def _forget(engine: Engine, done: Future) -> None:
    # A finished call is asked again next time: only one in flight is shared.
    with _lock:
        if _in_flight.get(engine) is done:
            del _in_flight[engine]


def _outcome(asked: Future | str) -> tuple[object, str]:
    if isinstance(asked, str):
        return None, asked
    if not asked.done():
        return None, f"did not answer within {settings.ENGINE_PAGE_TIMEOUT} s"
    try:
        return asked.result(), ""
    except EngineError as error:
        return None, error.reason
