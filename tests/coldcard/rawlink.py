"""A bare datagram client that speaks reports, for framing tests the ckcc client cannot make."""

from __future__ import annotations

import os
import socket


class RawLink:
    def __init__(self, device_path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.name = os.path.join(os.path.dirname(device_path) or "/tmp", f"raw{os.getpid()}-{id(self)}.sock")
        if len(self.name) > 100:
            self.name = f"/tmp/raw{os.getpid()}-{id(self) % 100000}.sock"
        self.sock.bind(self.name)
        self.sock.connect(device_path)

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.name)
        except FileNotFoundError:
            pass

    def send_report(self, report: bytes) -> None:
        self.sock.send(report)

    def send_message(self, msg: bytes, *, encrypted_flag: bool = False) -> None:
        for off in range(0, len(msg), 63):
            here = msg[off : off + 63]
            header = len(here)
            if off + len(here) == len(msg):
                header |= 0x80 | (0x40 if encrypted_flag else 0)
            self.send_report(bytes([header]) + here + bytes(63 - len(here)))

    def recv_reports(self, timeout: float = 3.0) -> list[bytes] | None:
        self.sock.settimeout(timeout)
        reports = []
        try:
            while True:
                report = self.sock.recv(128)
                reports.append(report)
                if report[0] & 0x80:
                    return reports
        except socket.timeout:
            return reports or None

    def recv_message(self, timeout: float = 3.0) -> bytes | None:
        reports = self.recv_reports(timeout)
        if reports is None:
            return None
        return b"".join(r[1 : 1 + (r[0] & 0x3F)] for r in reports)

    def call(self, msg: bytes) -> bytes | None:
        self.send_message(msg)
        return self.recv_message()
