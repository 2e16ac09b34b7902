"""One simulated browser tab: Streamlit's own protocol over its WebSocket, no browser.

A tab does what the Streamlit frontend does for the widgets it is given: it sends a
``rerun_script`` BackMsg with the state of every widget on its screen, keeps what each run
draws (the ``new_element`` deltas), takes a value the server put into a widget
(``set_value``), and runs the timers the server asks for (``auto_rerun``: a fragment's
``run_every``) as a browser does, whether or not a run is going.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY
FRAGMENT_FINISHED = ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY

# The widgets a tab reports, and the WidgetState field the frontend reports each one in.
_STRING = {"text_input", "text_area"}
_REPORTED = {*_STRING, "checkbox", "slider", "date_input", "multiselect"}


class RunTimeout(Exception):
    """A run the tab asked for did not finish in time: the tab is stalled."""


@dataclass
class Widget:
    kind: str
    proto: Any
    value: Any

    def state(self, element_id: str) -> WidgetState:
        state = WidgetState(id=element_id)
        if self.kind in _STRING:
            state.string_value = str(self.value)
        elif self.kind == "checkbox":
            state.bool_value = bool(self.value)
        elif self.kind == "slider":
            state.double_array_value.data.extend(self.value)
        else:  # date_input, multiselect
            state.string_array_value.data.extend(self.value)
        return state


def _shown_value(kind: str, proto: Any) -> Any:
    """What the frontend shows for a widget drawn by a run: the value the server put into
    it, else its default."""
    if kind == "multiselect":
        if proto.set_value:
            return list(proto.raw_values)
        return [proto.options[index] for index in proto.default]
    if kind in {"slider", "date_input"}:
        return list(proto.value if proto.set_value else proto.default)
    return proto.value if proto.set_value else proto.default


@dataclass
class Tab:
    """One tab on ``url`` (``http://host:port``), opening ``process`` through ``?process=``."""

    url: str
    process: str
    timeout: float = 10.0
    widgets: dict[str, Widget] = field(default_factory=dict)
    fragment_runs: int = 0
    late_finishes: int = 0
    _socket: Any = None
    _query: str = ""
    _page: str = ""
    _finished: asyncio.Event = field(default_factory=asyncio.Event)
    _timers: list[asyncio.Task[None]] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def open(self) -> float:
        """Connect and run the page once (a page load); return how long it took."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self._socket = await websockets.connect(
            f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream",
            subprotocols=[websockets.Subprotocol("streamlit")],
            max_size=None,
            open_timeout=self.timeout,
        )
        self._query = urlencode({"process": self.process})
        self._reader = asyncio.create_task(self._read())
        return await self.rerun()

    def key_id(self, key: str) -> str:
        """The element id of the widget with ``key`` on this tab's screen."""
        for element_id in self.widgets:
            if element_id.split("-", 2)[-1] == key:
                return element_id
        raise KeyError(f"no widget with key {key!r} on screen")

    async def edit(self, key: str, value: Any) -> float:
        """Set the widget with ``key`` to ``value`` as a user would; return the seconds from
        the request to the end of the run it started."""
        self.widgets[self.key_id(key)].value = value
        return await self.rerun()

    async def rerun(self) -> float:
        self._finished.clear()
        started = time.perf_counter()
        await self._send(self._client_state())
        try:
            await asyncio.wait_for(self._finished.wait(), self.timeout)
        except TimeoutError:
            raise RunTimeout(f"no run finished within {self.timeout:.0f} s") from None
        return time.perf_counter() - started

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            await self._socket.close()

    def _client_state(self, fragment_id: str = "") -> ClientState:
        state = ClientState(
            query_string=self._query,
            page_script_hash=self._page,
            fragment_id=fragment_id,
            is_auto_rerun=bool(fragment_id),
        )
        state.widget_states.widgets.extend(w.state(i) for i, w in self.widgets.items())
        return state

    async def _send(self, client_state: ClientState) -> None:
        message = BackMsg()
        message.rerun_script.CopyFrom(client_state)
        await self._socket.send(message.SerializeToString())

    async def _read(self) -> None:
        async for data in self._socket:
            message = ForwardMsg()
            message.ParseFromString(data)
            self._handle(message)

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self._page = message.new_session.page_script_hash
            if not message.metadata.run.fragment_ids:
                self._stop_timers()  # a full run: its fragments ask again
        elif kind == "page_info_changed":
            self._query = message.page_info_changed.query_string
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._draw(message.delta.new_element)
        elif kind == "auto_rerun":
            interval, fragment = message.auto_rerun.interval, message.auto_rerun.fragment_id
            self._timers.append(asyncio.create_task(self._every(interval, fragment)))
        elif kind == "script_finished":
            if message.script_finished == FINISHED:
                if self._finished.is_set():
                    self.late_finishes += 1
                self._finished.set()
            elif message.script_finished == FRAGMENT_FINISHED:
                self.fragment_runs += 1

    def _draw(self, element: Any) -> None:
        kind = element.WhichOneof("type")
        if kind not in _REPORTED:
            return
        proto = getattr(element, kind)
        known = self.widgets.get(proto.id)
        if known is None or proto.set_value:
            self.widgets[proto.id] = Widget(kind, proto, _shown_value(kind, proto))

    def _stop_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []

    async def _every(self, interval: float, fragment_id: str) -> None:
        while True:
            await asyncio.sleep(interval)
            await self._send(self._client_state(fragment_id))
