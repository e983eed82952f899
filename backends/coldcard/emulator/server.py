"""The UNIX datagram socket the emulator serves on, and the socket-path naming rule.

One datagram is one 64-byte report. Replies go to the address of the most recent
sender, as on the simulator; datagrams from unnamed sockets are dropped since there is
nowhere to answer. ``logo`` ends the process half a second after its reply (the device
powers off); ``rebo`` power-cycles the device in place.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import time

from .device import Device

DEFAULT_SIM_SOCKET = "/tmp/ckcc-simulator.sock"
POWER_DELAY = 0.5
MAX_UNIX_PATH = 107


class SocketPathError(ValueError):
    pass


def check_socket_path(path: str) -> str:
    """Refuse a path ckcc's ``UnixSimulatorPipe`` could not pair a client socket with.

    The client names its own socket after the text between the last ``-`` and the first
    ``.`` of the simulator path, so the path must be ``<dirs without dots>/<name>-<id>.sock``
    with an id free of ``/``, ``.`` and ``-`` (or exactly the simulator default).
    """
    path = os.path.abspath(path)
    if len(path.encode()) > MAX_UNIX_PATH:
        raise SocketPathError(f"socket path is longer than {MAX_UNIX_PATH} bytes: {path}")
    if path == DEFAULT_SIM_SOCKET:
        return path
    stem = path.split(".")[0]
    token = stem.split("-")[-1]
    if not path.endswith(".sock") or stem + ".sock" != path:
        raise SocketPathError(f"socket path must end in .sock and contain no other dot: {path}")
    base = os.path.basename(stem)
    if "-" not in base or not token or "/" in token:
        raise SocketPathError(f"socket name must look like <name>-<id>.sock (id without - . /): {path}")
    return path


def socket_path_for(directory: str, device_id: str) -> str:
    return check_socket_path(os.path.join(directory, f"cc-{device_id}.sock"))


class Server:
    def __init__(self, device: Device, socket_path: str, *, lifeline: int | None = None) -> None:
        self.device = device
        #: a pipe's read end held open by whoever started us: at its end of file (that
        #: process is gone, even SIGKILLed, or let go of us) the device powers off
        self.lifeline = lifeline
        self.path = check_socket_path(socket_path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.sock.bind(self.path)
        self._power_at: float | None = None
        self._power_kind: str | None = None
        self._stop = False
        # a self-pipe: a signal handler cannot cut select() short on its own (PEP 475
        # retries it), so stop() also makes the loop's select() return at once
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def close(self) -> None:
        self.sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def stop(self, *_args) -> None:
        self._stop = True
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass  # the pipe is full or closed: the loop is waking up anyway

    def serve_forever(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        try:
            while not self._stop:
                if self._power_at is not None and time.monotonic() >= self._power_at:
                    if self._power_kind == "logout":
                        return
                    self._power_at = None
                    self.device.boot()
                timeout = 0.5 if self._power_at is None else max(0.0, self._power_at - time.monotonic())
                watched = [self.sock, self._wake_r] + ([self.lifeline] if self.lifeline is not None else [])
                try:
                    ready, _, _ = select.select(watched, [], [], timeout)
                except InterruptedError:
                    continue
                if self.lifeline in ready and not os.read(self.lifeline, 4096):
                    return
                if self.sock in ready:
                    self.serve_one()
        finally:
            self.close()

    def serve_one(self) -> None:
        data, addr = self.sock.recvfrom(4096)
        if not addr:
            return
        replies = self.device.receive(data, addr)
        if self.device.pending_sleep:
            time.sleep(self.device.pending_sleep)
        for report in replies:
            try:
                self.sock.sendto(report, addr)
            except OSError:
                break  # the client went away; the device keeps serving
        if self.device.power and self._power_at is None:
            self._power_kind = self.device.power
            self._power_at = time.monotonic() + POWER_DELAY
