"""The one sized thread pool that async code uses for request/response engine calls.

asgiref's `sync_to_async` defaults to thread_sensitive=True, which outside an HTTP request
means one thread for the whole process: every consumer's engine call would wait its turn.
"""

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

ENGINE_THREADS = int(os.environ.get("BERTH_ENGINE_THREADS", "32"))
_pool = ThreadPoolExecutor(max_workers=ENGINE_THREADS, thread_name_prefix="berth-engine")


async def engine_call(function: Callable[..., T], /, *args, **kwargs) -> T:
    """Runs a blocking engine function off the event loop and the shared asgiref thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, functools.partial(function, *args, **kwargs))


async def in_thread(function: Callable[..., T], /, *args, **kwargs) -> T:
    """Runs a long blocking read (a log's history) in a thread of its own, so it holds no
    pooled thread while it waits on the engine or on a slow viewer."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result, error) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def work() -> None:
        try:
            result = function(*args, **kwargs)
        except BaseException as error:  # handed to the awaiting coroutine
            outcome = (None, error)
        else:
            outcome = (result, None)
        # The loop may be gone by now (its server or test ended): nobody awaits the result.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="berth-read", daemon=True).start()
    return await done
