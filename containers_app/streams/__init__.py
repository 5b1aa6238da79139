"""Long-lived engine streams (logs, events, stats, exec) turned into asyncio, read once and
shared by every viewer in the process."""
