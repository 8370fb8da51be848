"""A test-only Jupyter server extension: it logs ``READY`` once the server accepts connections.

Jupyter Server logs "is running at" before its event loop binds the port, so a request sent
right after that line can be refused. ``tests/ui/conftest.py`` enables this extension and
waits for its line instead of polling.
"""

READY = "xai-widgets ui tests: the server is listening"


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "xai_ui_server_ready"}]


def _load_jupyter_server_extension(serverapp) -> None:
    def announce_when_listening() -> None:
        server = getattr(serverapp, "http_server", None)
        if server is not None and server._sockets:  # bound by the loop's first callbacks
            serverapp.log.info(READY)
        else:
            serverapp.io_loop.add_callback(announce_when_listening)

    serverapp.io_loop.add_callback(announce_when_listening)
