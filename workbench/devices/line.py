"""A serial line (串口) that survives a disconnect: the drivers' one way to the port (pyserial).

A shop-floor cable gets pulled, a USB adapter re-enumerates, a gateway restarts: every failure to
read or write closes the port, and the next call reopens it, waiting up to ``reconnect_s`` for the
port to come back. The drivers retry their command after a reconnect; they never see a half-open port.
"""

from __future__ import annotations

import os
import termios
import threading
import time

import serial

# what pyserial lets through when the far end goes away: termios.error is not an OSError
LINE_ERRORS = (serial.SerialException, OSError, termios.error)

__all__ = ["LINE_ERRORS", "SerialLine", "wait_for_port", "PortMissing", "DeviceNotAnswering", "LineDropped"]


class PortMissing(ConnectionError):
    """The port does not exist or cannot be opened (wrong path, unplugged, no permission)."""


class DeviceNotAnswering(TimeoutError):
    """The device gave no valid reply within the timeout, after every retry."""


class LineDropped(ConnectionError):
    """The line failed while reading or writing; the port is closed and will be reopened."""


class SerialLine:
    """``port`` at ``baudrate`` (8N1); ``read_timeout_s`` bounds each read, ``reconnect_s`` each reopen."""

    def __init__(self, port: str, baudrate: int = 9600, read_timeout_s: float = 0.05, reconnect_s: float = 5.0):
        self.port, self.baudrate = port, baudrate
        self.read_timeout_s, self.reconnect_s = read_timeout_s, reconnect_s
        self.reconnects = 0  # times the port was reopened after a failure
        self._serial: serial.Serial | None = None
        self._failed = False

    def open(self) -> None:
        """Open the port; after a failure wait up to ``reconnect_s`` for it to come back. Raises PortMissing."""
        deadline = time.monotonic() + (self.reconnect_s if self._failed else 0.0)
        while True:
            try:
                self._serial = serial.Serial(self.port, self.baudrate, timeout=self.read_timeout_s)
                break
            except (serial.SerialException, OSError) as err:
                if time.monotonic() >= deadline:
                    raise PortMissing(_missing_message(self.port, err)) from None
                time.sleep(0.02)  # a back-off while the port comes back, not a synchronisation
        if self._failed:
            self.reconnects += 1
            self._failed = False

    def write(self, data: bytes) -> None:
        self._io(lambda s: (s.write(data), s.flush()))

    def read(self, size: int = 256) -> bytes:
        """What arrived within one read timeout (possibly nothing)."""
        return self._io(lambda s: _read_available(s, size))

    def close(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except LINE_ERRORS:
                pass  # closing a port whose far end is gone: nothing left to release
            finally:
                self._serial = None

    def _io(self, action):
        if self._serial is None:
            self.open()
        try:
            return action(self._serial)
        except LINE_ERRORS as err:
            self.close()
            self._failed = True
            raise LineDropped(f"{self.port}: {err}") from None

    def __enter__(self) -> "SerialLine":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_available(port: serial.Serial, size: int) -> bytes:
    """Wait up to the read timeout for a first byte, then take what else is already there."""
    first = port.read(1)
    return first + port.read(min(port.in_waiting, size - 1)) if first else first


def _missing_message(port: str, err: BaseException) -> str:
    if not os.path.exists(port):
        return (f"no such port {port!r}: check the cable and the device's path (ls /dev/ttyUSB* /dev/serial/by-id/), "
                "or start a simulator with `wb devices simulate scale|rfid`")
    return f"cannot open {port!r} ({err}): is another program using it, or do you lack permission (group dialout)?"


def wait_for_port(line: SerialLine, wait_s: float, stop: threading.Event) -> None:
    """Open the port, trying again for ``wait_s`` (a device being plugged in); PortMissing after."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            line.open()
            return
        except PortMissing as err:
            if time.monotonic() >= deadline or stop.is_set():
                raise PortMissing(f"{err} (waited {wait_s:g} s for it)") from None
            stop.wait(0.2)
