"""New audit entries handed to the audit pages open in this process, as they are written.

Entries are written from request threads, job threads and the websocket executors' threads;
each subscriber is an event loop and a bounded queue of entry ids on it, so publishing is a
`call_soon_threadsafe` per subscriber and never waits for a viewer. A viewer whose queue is
full loses the ids that do not fit, and is told how many (`take_dropped`).

Only entries written by this process reach its subscribers: with several server processes
(see DESIGN.md, "Scale path"), an entry written by another one shows on a page only when it
is loaded again. Carrying them across processes would take the channel layer (Redis).
"""

import asyncio
import threading

# Entry ids waiting for one viewer. A viewer reads them in batches as fast as the database
# answers; more than this waiting means it is stuck, and its page can be reloaded.
QUEUE_SIZE = 256


class Subscription:
    """One viewer's share of the feed: ids of entries written (or changed) since it
    subscribed, oldest first."""

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int = QUEUE_SIZE) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[int] = asyncio.Queue(maxsize=size)
        self.dropped = 0

    def _offer(self, entry_id: int) -> None:
        """On the subscriber's loop: queues the id, or counts it as dropped."""
        try:
            self.queue.put_nowait(entry_id)
        except asyncio.QueueFull:
            self.dropped += 1

    async def next_batch(self, limit: int = QUEUE_SIZE) -> list[int]:
        """The ids waiting, at least one (it waits for it), at most `limit`."""
        ids = [await self.queue.get()]
        while len(ids) < limit and not self.queue.empty():
            ids.append(self.queue.get_nowait())
        return ids

    def take_dropped(self) -> int:
        """How many ids were dropped since the last call."""
        dropped, self.dropped = self.dropped, 0
        return dropped


_subscribers: set[Subscription] = set()
_lock = threading.Lock()


def subscribe() -> Subscription:
    """A new subscription on the running loop (call it from async code)."""
    subscription = Subscription(asyncio.get_running_loop())
    with _lock:
        _subscribers.add(subscription)
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    with _lock:
        _subscribers.discard(subscription)


def subscriber_count() -> int:
    with _lock:
        return len(_subscribers)


def publish(entry_id: int) -> None:
    """Hands an entry's id to every subscriber; callable from any thread. Each subscriber
    decides for itself whether its viewer may see the entry and whether it matches its
    filters (consumers/audit.py)."""
    with _lock:
        subscribers = list(_subscribers)
    for subscription in subscribers:
        try:
            subscription.loop.call_soon_threadsafe(subscription._offer, entry_id)
        except RuntimeError:
            # Its loop is closed (a test's, or a server shutting down) without it having
            # unsubscribed: nobody reads it any more.
            unsubscribe(subscription)


def reset() -> None:
    """Forgets every subscriber (tests: each async test runs a loop of its own)."""
    with _lock:
        _subscribers.clear()
