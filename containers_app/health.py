"""Each engine's health (up, degraded, down), checked in the background every few seconds,
with backoff while down, so pages show it at once and never wait for a dead engine.

A check asks the engine's /version with a short timeout, in a thread of its own per engine:
an engine that never answers holds up only its own check. A failed check drops the engine's
clients (an SSH connection is never made again by the client that had it), so the engine is
back, through new ones, as soon as it answers again.
"""

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from containers_app.engine import Engine, EngineError
from containers_app.engine.client import api, forget
from containers_app.engine.errors import translated

UP, DEGRADED, DOWN, UNKNOWN = "up", "degraded", "down", "unknown"
# An answer slower than this is degraded; while down, checks back off up to BACKOFF_MAX.
SLOW_SECONDS = 1.0
BACKOFF_MAX = 60.0
# An engine nobody asked about for this long is no longer checked.
WATCHED_SECONDS = 600.0
# An engine that answers its check while some of its calls failed this recently is degraded.
FAILURES_SECONDS = 60.0


@dataclass(frozen=True)
class Health:
    state: str = UNKNOWN
    checked: float = 0.0
    last_seen: float | None = None
    round_trip_ms: float | None = None
    version: str = ""
    reason: str = ""
    failures: int = 0


_health: dict[str, Health] = {}
# The engines someone asked about lately, by slug: (the engine, when it was last asked).
_watched: dict[str, tuple[Engine, float]] = {}
# Calls of pages that failed on each engine lately, by slug: (when, why), the newest last.
_failures: dict[str, deque[tuple[float, str]]] = {}


def note_failure(engine: Engine, reason: str) -> None:
    """A page's call to `engine` failed (the engine's fault, not the request's): the engine
    is degraded while it answers its checks, until a minute passes without another."""
    with _lock:
        _failures.setdefault(engine.slug, deque(maxlen=100)).append((time.monotonic(), reason))


def _recent_failures(slug: str) -> list[tuple[float, str]]:
    since = time.monotonic() - FAILURES_SECONDS
    with _lock:
        return [failure for failure in _failures.get(slug, ()) if failure[0] >= since]


_lock = threading.Lock()
_started = threading.Event()
# First checks, asked by a page: one that does not answer holds only its thread.
_first_checks = ThreadPoolExecutor(max_workers=8, thread_name_prefix="engine-first-check")


def of(engine: Engine) -> Health:
    """What is known of the engine now. The engines pages ask: each engine asked about is
    checked in the background from then on, for as long as someone looks (WATCHED_SECONDS)."""
    start()
    with _lock:
        _watched[engine.slug] = (engine, time.monotonic())
        return _health.get(engine.slug, Health())


def of_every(every: list[Engine]) -> list[Health]:
    """What is known of each engine; those never checked yet are checked now, all at once,
    waited for at most ENGINE_HEALTH_TIMEOUT seconds (a page then shows them unknown)."""
    start()
    unknown = [engine for engine in every if of(engine).state == UNKNOWN]
    if unknown:
        checks = [_first_checks.submit(check, engine) for engine in unknown]
        wait(checks, timeout=settings.ENGINE_HEALTH_TIMEOUT)
    return [of(engine) for engine in every]


def seen(health: Health) -> str:
    """When the engine last answered, as the pages show times (24-hour, local)."""
    if health.last_seen is None:
        return "never" if health.checked else "not checked yet"
    moment = datetime.fromtimestamp(health.last_seen, tz=UTC)
    return timezone.localtime(moment).strftime("%H:%M:%S")


def check(engine: Engine) -> Health:
    """Asks the engine now and records what it said."""
    with _lock:
        before = _health.get(engine.slug, Health())
    began = time.monotonic()
    try:
        with translated(engine.base_url):
            client = api(engine)
            answer = client.get(
                f"{client.base_url}/version", timeout=settings.ENGINE_HEALTH_TIMEOUT
            )
            answer.raise_for_status()
            version = answer.json().get("Version", "")
    except (EngineError, ValueError) as error:
        forget(engine)
        reason = getattr(error, "reason", str(error))
        now = Health(
            state=DOWN,
            checked=time.time(),
            last_seen=before.last_seen,
            version=before.version,
            reason=reason,
            failures=before.failures + 1,
        )
    else:
        took = time.monotonic() - began
        failed = _recent_failures(engine.slug)
        if took > SLOW_SECONDS:
            reason = f"answered in {took:.1f} s"
        elif failed:
            calls = f"{len(failed)} call{'s' if len(failed) > 1 else ''}"
            reason = f"{calls} failed in the last minute, the last: {failed[-1][1]}"
        else:
            reason = ""
        now = Health(
            state=DEGRADED if reason else UP,
            checked=time.time(),
            last_seen=time.time(),
            round_trip_ms=round(took * 1000, 1),
            version=version,
            reason=reason,
        )
    with _lock:
        _health[engine.slug] = now
    return now


def start() -> None:
    """Starts the background checks once per process."""
    if _started.is_set():
        return
    with _lock:
        if _started.is_set():
            return
        _started.set()
    threading.Thread(target=_watch, name="engine-health", daemon=True).start()


def _watch() -> None:
    due: dict[str, float] = {}
    running: dict[str, object] = {}
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="engine-check") as pool:
        while True:
            now = time.monotonic()
            with _lock:
                for slug, (_, asked) in list(_watched.items()):
                    if now - asked > WATCHED_SECONDS:
                        del _watched[slug]
                every = [engine for engine, _ in _watched.values()]
            for engine in every:
                busy = running.get(engine.slug)
                if busy is not None and not busy.done():
                    continue  # a check that does not answer holds up only its engine
                if due.get(engine.slug, 0.0) <= now:
                    running[engine.slug] = pool.submit(check, engine)
                    due[engine.slug] = now + _interval(engine)
            time.sleep(1.0)


def _interval(engine: Engine) -> float:
    """Every ENGINE_HEALTH_SECONDS; while down, twice as long after each failure, up to a
    minute."""
    with _lock:
        failures = _health.get(engine.slug, Health()).failures
    every = float(settings.ENGINE_HEALTH_SECONDS)
    return min(every * (2 ** max(failures - 1, 0)), max(BACKOFF_MAX, every))
