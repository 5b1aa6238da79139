"""The containers of several engines at once, for the All engines page: every engine asked at
the same moment, each answer waited for at most ENGINE_PAGE_TIMEOUT seconds, an engine known
to be down not asked at all, and at most one list call in flight per engine however many
pages ask (a black-holed engine would otherwise take a thread per page view)."""

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings

from containers_app import health
from containers_app.engine import Engine, EngineError
from containers_app.engine import containers as engine_containers
from containers_app.engine.containers import ContainerSummary

_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="all-engines")
_in_flight: dict[Engine, Future] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Listed:
    """One engine's answer: its containers, or why there are none to show."""

    engine: Engine
    containers: list[ContainerSummary]
    problem: str = ""


def containers_of(every: list[Engine]) -> list[Listed]:
    """Each engine's containers (all of them: the caller keeps what its actor may see), in
    the order of `every`."""
    asked: dict[Engine, Future | str] = {}
    for engine in every:
        now = health.of(engine)
        if now.state == health.DOWN:
            asked[engine] = f"down: {now.reason}"
        else:
            asked[engine] = _list_call(engine)
    futures = [f for f in asked.values() if isinstance(f, Future)]
    wait(futures, timeout=settings.ENGINE_PAGE_TIMEOUT)
    return [_answer(engine, asked[engine]) for engine in every]


def _list_call(engine: Engine) -> Future:
    with _lock:
        running = _in_flight.get(engine)
        if running is not None and not running.done():
            return running
        future = _pool.submit(engine_containers.container_list, engine=engine, all=True)
        _in_flight[engine] = future
    return future


def _answer(engine: Engine, asked: Future | str) -> Listed:
    if isinstance(asked, str):
        return Listed(engine, [], asked)
    if not asked.done():
        return Listed(engine, [], f"did not answer within {settings.ENGINE_PAGE_TIMEOUT} s")
    try:
        return Listed(engine, asked.result())
    except EngineError as error:
        return Listed(engine, [], error.reason)
