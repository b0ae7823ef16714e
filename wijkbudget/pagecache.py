"""Public pages for visitors without a session, served from a shared cache.

When ten wijken vote in the same week, most requests are people without an account opening a
link: the proposal list, a proposal, a thread, the result, the money pages. For them every page
is the same, so it is rendered once and then served from the cache (Redis in production, shared
by all workers and servers; memory of the worker otherwise).

Never stale after a change: every commit that wrote something raises a generation number that
is part of each cache key, so the next visitor gets a fresh page. Casting a ballot is the
exception (``quiet_commit``): it changes no public page but the turnout figure, which may lag by
at most ``PAGE_CACHE_SECONDS``. With the memory store each worker has its own generation, so a
change made in one worker reaches the others' cached pages after ``PAGE_CACHE_SECONDS``; use
Redis when running more than one worker.

What is cached: a GET without any cookie (so no session, no login, no code, no draft ballot),
answered 200 with no ``Set-Cookie`` and without touching the session. Everyone with a session
— residents who are logged in, the board, voters with a code — always gets a page rendered for
them. ``/healthz`` and static files are never cached here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from cachelib import BaseCache, RedisCache, SimpleCache
from flask import Flask, Response, current_app, g, has_app_context, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")
GENERATION = "wijkbudget:generation"
_QUIET = "wijkbudget_quiet_commit"
_WROTE = "wijkbudget_wrote"
# (/stem and /controleer: a code or a receipt may be in the address; never a cache key)
SKIP_PATHS = ("/healthz", "/static/", "/stem", "/controleer")


def _store(app: Flask) -> BaseCache:
    url = app.config["PAGE_CACHE_URL"]
    if url.startswith(("redis://", "rediss://", "unix://")):
        import redis  # an optional dependency: loaded only where the page cache is Redis

        return RedisCache(host=redis.Redis.from_url(url), key_prefix="wijkbudget:page:")
    return SimpleCache(threshold=2000)


def store() -> BaseCache | None:
    return current_app.extensions.get("wijkbudget_page_cache")


def fragment(name: str, build: Callable[[], T]) -> T:
    """A piece of a page that is the same for everyone (e.g. the proposals of a ballot, which
    each voter sees in an order of their own): built once per generation, like a page. Without
    a cache (``PAGE_CACHE_SECONDS`` 0) it is built every time."""
    cache = store()
    if cache is None:
        return build()
    # fragments stay in the worker's own memory (a ballot's items are tens of kB, read on every
    # ballot page: no trip to Redis for them); the generation is the shared one, so a fragment
    # is never older than the last change anywhere
    fragments: _Fragments = current_app.extensions["wijkbudget_fragments"]
    return fragments.get(
        name, cache.get(GENERATION) or 0, int(current_app.config["PAGE_CACHE_SECONDS"]), build
    )


class _Fragments:
    """The worker's own fragments, kept as the objects they are (a ballot's items are read on
    every ballot page: no pickling, no trip to Redis); each is valid for one generation and at
    most ``seconds`` (a ballot changes the turnout without a new generation)."""

    def __init__(self, limit: int = 500) -> None:
        self.limit = limit
        self.items: dict[str, tuple[Any, float, Any]] = {}

    def get(self, name: str, generation: Any, seconds: int, build: Callable[[], T]) -> T:
        now = time.monotonic()
        found = self.items.get(name)
        if found is not None and found[0] == generation and found[1] > now:
            return found[2]
        value = build()
        if len(self.items) >= self.limit:
            self.items.clear()
        self.items[name] = (generation, now + seconds, value)
        return value


def note_write(db_session: Any) -> None:
    """Writes made on the session's connection directly (not through the session) are not seen
    by the listeners: the code that makes them says so, and the next commit counts as a change."""
    db_session.info[_WROTE] = True


def quiet_commit(db_session: Any) -> None:
    """Commit a change that leaves the cached public pages as they are (a cast ballot)."""
    db_session.info[_QUIET] = True
    db_session.commit()


def anonymous_read() -> bool:
    """A GET of a page by a visitor without any cookie or credentials: what the page cache
    serves (and a read replica, see replica.py)."""
    return (
        request.method == "GET"
        and not request.cookies
        and "Authorization" not in request.headers
        and not request.path.startswith(SKIP_PATHS)
    )


def _key(generation: Any) -> str:
    return "|".join(
        [
            str(generation or 0),
            request.host_url,
            request.full_path,
            request.headers.get("HX-Request", ""),
            request.headers.get("HX-Boosted", ""),
            request.headers.get("HX-Target", ""),
        ]
    )


def _bump(cache: BaseCache) -> None:
    if isinstance(cache, SimpleCache):  # one worker's memory: kept without expiry
        cache.set(GENERATION, int(cache.get(GENERATION) or 0) + 1, timeout=0)
    else:
        cache.inc(GENERATION)  # Redis INCR: atomic, and a missing key starts at 0


def _wrote(db_session: Session, _context: Any) -> None:
    db_session.info[_WROTE] = True


def _wrote_statement(state: Any) -> None:
    """An insert, update or delete run through the session without the unit of work."""
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


def _after_commit(db_session: Session) -> None:
    wrote = db_session.info.pop(_WROTE, False)
    quiet = db_session.info.pop(_QUIET, False)
    cache = current_app.extensions.get("wijkbudget_page_cache") if has_app_context() else None
    if wrote and not quiet and cache is not None:
        _bump(cache)


def _after_rollback(db_session: Session, _previous: Any) -> None:
    db_session.info.pop(_WROTE, None)
    db_session.info.pop(_QUIET, None)


def init_app(app: Flask, db: Any) -> None:
    seconds = int(app.config["PAGE_CACHE_SECONDS"])
    if seconds <= 0:
        return
    cache = _store(app)
    app.extensions["wijkbudget_page_cache"] = cache
    app.extensions["wijkbudget_fragments"] = _Fragments()
    # one set of listeners for the shared session factory, whichever app registers first
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_flush", _wrote)
        event.listen(db.session, "do_orm_execute", _wrote_statement)
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_soft_rollback", _after_rollback)

    @app.before_request
    def serve_cached() -> Response | None:
        if not anonymous_read():
            return None
        generation = cache.get(GENERATION)
        key = _key(generation)
        hit = cache.get(key)
        if hit is None:
            g.page_cache_key = key
            return None
        body, headers = hit
        g.page_cache_hit = True
        return app.response_class(body, status=200, headers=headers)

    # registered before the other after_request handlers, so it runs last and stores the
    # headers they add (security headers, Vary); the session cookie comes after all of them,
    # which is why a response whose session was changed is never stored
    @app.after_request
    def store_page(response: Response) -> Response:
        key = g.pop("page_cache_key", None)
        if g.get("page_cache_hit"):
            response.headers["X-Cache"] = "hit"
            return response
        if (
            key is None
            or response.status_code != 200
            or response.direct_passthrough
            or response.is_streamed
            or "Set-Cookie" in response.headers
            or session.modified
            or "private" in (response.headers.get("Cache-Control") or "")
            or "no-store" in (response.headers.get("Cache-Control") or "")
        ):
            return response
        response.vary.add("Cookie")
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        cache.set(key, (response.get_data(), headers), timeout=seconds)
        response.headers["X-Cache"] = "miss"
        return response
