"""A real localstripe server in this process, on 127.0.0.1, for tests, benchmarks and drills.

Why not localstripe's CLI: it binds every interface (`::`) and pickles its state to `/tmp/localstripe.pickle`,
shared by every run on the machine. Here the same aiohttp handlers serve 127.0.0.1 only, from a background
thread with its own asyncio loop, and the state file goes into a private temp directory.

localstripe keeps its objects in one module-level store, so one server runs per process at a time; the store is
emptied when the server starts and when it stops.

`newest_first=True` lists events the way api.stripe.com documents it (most recent first) instead of localstripe's
insertion order (oldest first), so code that pages through events can be run against both orders.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import pickle
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_one_server_at_a_time = threading.Lock()


def _dump_store(store: dict[str, Any], path: Path) -> None:
    with open(path, "wb") as fh:
        pickle.dump(dict(store), fh, protocol=pickle.HIGHEST_PROTOCOL)


def _fresh_app() -> Any:
    """A new aiohttp Application with localstripe's middlewares and routes: its module-level app gets bound to
    the first event loop that serves it and refuses any later one."""
    from aiohttp import web

    with warnings.catch_warnings():
        # localstripe's GET handlers are plain functions, which aiohttp still serves but warns about
        warnings.simplefilter("ignore", DeprecationWarning)
        from localstripe import server

        app = web.Application(middlewares=list(server.app.middlewares))
        app.on_response_prepare.extend(server.app.on_response_prepare)
        for route in server.app.router.routes():
            info = route.resource.get_info() if route.resource is not None else {}
            app.router.add_route(route.method, info.get("path") or info.get("formatter"), route.handler)
    return app


@contextlib.contextmanager
def _events_newest_first() -> Iterator[None]:
    from localstripe.resources import Event

    original = Event.__dict__["_api_list_all"]

    def newest_first(cls: type, url: str, **params: Any) -> Any:
        listing = original.__func__(cls, url, **params)
        listing._list.reverse()  # the store is insertion-ordered, i.e. oldest first
        return listing

    Event._api_list_all = classmethod(newest_first)
    try:
        yield
    finally:
        Event._api_list_all = original


@contextlib.contextmanager
def _private_state(folder: Path) -> Iterator[None]:
    """Empty store and webhook endpoints, state file in `folder`; emptied again at the end."""
    from localstripe.resources import store
    from localstripe.webhooks import _webhooks

    store.clear()
    _webhooks.clear()
    store.dump_to_disk = functools.partial(_dump_store, store, folder / "localstripe.pickle")
    store.try_load_from_disk = lambda: None
    try:
        yield
    finally:
        store.clear()
        _webhooks.clear()
        del store.dump_to_disk, store.try_load_from_disk


async def _serve(app: Any) -> tuple[Any, int]:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def _shutdown(runner: Any) -> None:
    await runner.cleanup()
    # localstripe schedules a webhook delivery task per event (sleeping 1 s first): cancel what is left
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


@contextlib.contextmanager
def local_stripe(*, newest_first: bool = False, timeout: float = 10) -> Iterator[str]:
    """Run localstripe on 127.0.0.1 on a free port; yields its base URL (for `--api-base` / `base_addresses`)."""
    if not _one_server_at_a_time.acquire(blocking=False):
        raise RuntimeError("localstripe keeps its state in one module-level store: one server per process")
    folder = Path(tempfile.mkdtemp(prefix="localstripe-"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="localstripe", daemon=True)
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_private_state(folder))
            if newest_first:
                stack.enter_context(_events_newest_first())
            thread.start()
            runner, port = asyncio.run_coroutine_threadsafe(_serve(_fresh_app()), loop).result(timeout)
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                asyncio.run_coroutine_threadsafe(_shutdown(runner), loop).result(timeout)
    finally:
        if thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
        loop.close()
        shutil.rmtree(folder, ignore_errors=True)
        _one_server_at_a_time.release()
