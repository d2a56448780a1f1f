"""Run the simulator in a background thread (tests) or in the foreground (management command)."""

from __future__ import annotations

import logging
import socketserver
import sys
import threading
from typing import Any
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .app import AbortConnection, SimulatorApp, make_app
from .dataset import Dataset
from .faults import Faults

logger = logging.getLogger("integrations.simulator")


class _Handler(ServerHandler):
    """Like wsgiref's, but an :class:`AbortConnection` drops the connection without a reply."""

    aborted = False

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], AbortConnection):
            self.aborted = True
            return
        super().handle_error()

    def close(self) -> None:
        if self.aborted:
            self.result = None
            SimpleHandler.close(self)
            return
        super().close()


class _RequestHandler(WSGIRequestHandler):
    quiet = True

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - wsgiref's signature
        if not self.quiet:
            super().log_message(format, *args)


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class SimulatorServer:
    """The simulator on a real socket in a daemon thread; ``url`` is ready after ``start()``.

    ``port=0`` picks a free port. Use as a context manager in tests.
    """

    def __init__(
        self,
        dataset: Dataset,
        faults: Faults | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        quiet: bool = True,
        **app_options: Any,
    ) -> None:
        self.dataset = dataset
        self.faults = faults if faults is not None else Faults()
        self.app: SimulatorApp = make_app(dataset, self.faults, **app_options)
        self.host = host
        self.port = port
        self.quiet = quiet
        self._server: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        host = host if ":" not in str(host) else f"[{host}]"
        return f"http://{host}:{port}"

    def token(self, district_id: str | None = None) -> str:
        """The bearer token of a district (the only one when not given)."""
        districts = self.dataset.district_ids()
        return self.dataset.tokens[district_id or districts[0]]

    def start(self) -> SimulatorServer:
        handler = type("Handler", (_RequestHandler,), {"quiet": self.quiet})
        self._server = _ThreadingServer((self.host, self.port), handler)
        self._server.set_app(self.app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="clever-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Foreground mode (management command): serve until interrupted."""
        handler = type("Handler", (_RequestHandler,), {"quiet": self.quiet})
        self._server = _ThreadingServer((self.host, self.port), handler)
        self._server.set_app(self.app)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
