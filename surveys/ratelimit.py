"""A small fixed-window rate limit in the shared cache, for the public survey page.

Counted per client IP and per link token: a script hammering one link, or
trying many links from one address, gets the friendly "slow down" page. The
client address is REMOTE_ADDR: behind a proxy, the proxy must set it (as
gunicorn does with --forwarded-allow-ips), never a header we would trust blindly.
"""

import hashlib
import math
import time

from django.core.cache import cache


def hit(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one request; False when `key` went over `limit` in the current window."""
    if limit <= 0:
        return True  # limit switched off
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{window}"
    if cache.add(cache_key, 1, timeout=window_seconds + 5):
        return True
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds + 5)
        return True
    return count <= limit


def seconds_left(window_seconds: int, *, now: float | None = None) -> int:
    """Seconds until the current fixed window ends (at least 1): a refused client's
    Retry-After, since its count starts again only then."""
    now = time.time() if now is None else now
    return max(1, math.ceil(window_seconds - now % window_seconds))
