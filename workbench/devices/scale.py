"""The scale (电子秤): Mettler-Toledo MT-SICS over a serial line.

MT-SICS is text: the host sends a command and CR LF; the scale answers lines of
``<command> <status> <values...>``, each ended by CR LF. Statuses: ``S`` stable weight, ``D``
dynamic (not stable: ``SI`` only), ``A`` done / last line, ``B`` more lines follow, ``I`` not
executable now (busy, or no stable weight within the scale's timeout), ``+`` overload, ``-``
underload. A line ``ES`` / ``ET`` / ``EL`` alone is a syntax, transmission or logical error.

Parsing is pure (:func:`parse_reply`, :func:`check`); :class:`Scale` does the I/O: timeouts,
retries after a dropped line, stray lines skipped and counted, ``S I`` retried until stable.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field

from workbench.devices.line import DeviceNotAnswering, LineDropped, SerialLine

__all__ = ["Reply", "Weight", "Scale", "ScaleError", "Overload", "Underload", "NotExecutable",
           "CommandNotUnderstood", "TransmissionError", "LogicalError", "parse_reply", "check", "weight_of"]

CRLF = b"\r\n"
# the command whose name heads the reply (SI answers "S ...", @ answers with the serial number "I4 A ...")
REPLY_OF = {"S": "S", "SI": "S", "Z": "Z", "T": "T", "@": "I4", "I4": "I4", "I0": "I0"}


class ScaleError(RuntimeError):
    """The scale refused the command; the message says what to do."""


class Overload(ScaleError):
    pass


class Underload(ScaleError):
    pass


class NotExecutable(ScaleError):
    pass


class CommandNotUnderstood(ScaleError):
    pass


class TransmissionError(ScaleError):
    pass


class LogicalError(ScaleError):
    pass


_ERRORS = {
    "+": (Overload, "overload: the load is above the scale's weighing range; take weight off the pan"),
    "-": (Underload, "underload: the load is below the zero range; check the pan is in place, then zero the scale"),
    "I": (NotExecutable, "command not executable now: the scale is busy or did not settle within its timeout"),
    "ES": (CommandNotUnderstood, "syntax error: the scale did not recognise the command"),
    "ET": (TransmissionError, "transmission error: check the baud rate, parity and cable"),
    "EL": (LogicalError, "logical error: the scale understood the command but cannot execute it"),
}


@dataclass(frozen=True)
class Reply:
    """One reply line: ``command`` (empty for ES / ET / EL), ``status`` and the values after it."""

    command: str
    status: str
    values: tuple[str, ...] = field(default=())

    @property
    def is_last(self) -> bool:
        return self.status != "B"


@dataclass(frozen=True)
class Weight:
    """A weight (重量) with its unit; ``stable`` False for a dynamic reading (``S D``)."""

    value: float
    unit: str
    stable: bool


def parse_reply(line: str) -> Reply | None:
    """One line as the scale sent it (CR LF stripped); None when it is not an MT-SICS reply (noise)."""
    try:
        parts = shlex.split(line.strip(), posix=True)
    except ValueError:
        return None
    if not parts or not all(p.isprintable() for p in parts):
        return None
    if parts[0] in ("ES", "ET", "EL") and len(parts) == 1:
        return Reply("", parts[0])
    if len(parts) < 2 or parts[0] not in REPLY_OF.values() or parts[1] not in ("S", "D", "A", "B", "I", "+", "-"):
        return None
    return Reply(parts[0], parts[1], tuple(parts[2:]))


def check(reply: Reply, command: str) -> Reply:
    """The reply if it reports success; else the scale's error as an exception named in words."""
    if reply.status in _ERRORS:
        cls, text = _ERRORS[reply.status]
        raise cls(f"{text} (command {command!r})")
    return reply


def weight_of(reply: Reply) -> Weight:
    """``S S 100.00 g`` → Weight(100.0, "g", stable=True)."""
    if len(reply.values) < 2:
        raise ValueError(f"a weight reply needs a value and a unit, got {reply}")
    return Weight(float(reply.values[0]), reply.values[1], stable=reply.status == "S")


class Scale:
    """An MT-SICS scale on ``line``: each command waits ``timeout_s`` for its reply, ``retries`` times."""

    def __init__(self, line: SerialLine, timeout_s: float = 1.0, retries: int = 3, settle_tries: int = 20):
        self.line, self.timeout_s, self.retries, self.settle_tries = line, timeout_s, retries, settle_tries
        self.skipped_lines = 0  # noise and stray replies skipped (logged, never a crash)
        self._buffer = b""

    def stable_weight(self) -> Weight:
        """``S``: the next stable weight; ``S I`` (not settled) is asked again up to ``settle_tries`` times."""
        for _ in range(self.settle_tries - 1):
            try:
                return weight_of(self.command("S")[0])
            except NotExecutable:
                continue
        return weight_of(self.command("S")[0])

    def weight_now(self) -> Weight:
        """``SI``: the weight at once, stable or not (``stable`` says which)."""
        return weight_of(self.command("SI")[0])

    def zero(self) -> None:
        self.command("Z")

    def tare(self) -> Weight:
        """``T``: tare with the load on the pan; the tare weight."""
        return weight_of(self.command("T")[0])

    def reset(self) -> str:
        """``@``: reset to the power-on state (tare cleared); the serial number."""
        return _quoted(self.command("@")[0])

    def serial_number(self) -> str:
        return _quoted(self.command("I4")[0])

    def commands(self) -> list[str]:
        """``I0``: the commands the scale implements (a multi-line ``B`` ... ``A`` reply)."""
        return [r.values[-1] for r in self.command("I0") if r.values]

    def command(self, command: str) -> list[Reply]:
        """Send ``command``; its reply lines (several for ``B`` ... ``A``). Retries after a timeout or a drop."""
        last: Exception | None = None
        for _ in range(self.retries):
            try:
                self.line.write(command.encode("ascii") + CRLF)
                return [check(r, command) for r in self._replies(command)]
            except (LineDropped, DeviceNotAnswering) as err:
                self._buffer, last = b"", err
        raise DeviceNotAnswering(f"the scale on {self.line.port} did not answer {command!r} after {self.retries} "
                                 f"tries ({last}): check it is switched on, the cable, and the baud rate")

    def _replies(self, command: str) -> list[Reply]:
        wanted, got = REPLY_OF.get(command), []  # an unknown command can only get ES / ET / EL
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            for line in self._lines():
                reply = parse_reply(line)
                if reply is None or reply.command not in ("", wanted):
                    self.skipped_lines += 1
                    continue
                got.append(reply)
                if reply.is_last:
                    return got
        raise DeviceNotAnswering(f"no reply to {command!r} within {self.timeout_s} s")

    def _lines(self) -> list[str]:
        self._buffer += self.line.read()
        *complete, self._buffer = self._buffer.split(CRLF)
        return [c.decode("ascii", errors="replace") for c in complete]


def _quoted(reply: Reply) -> str:
    return reply.values[-1] if reply.values else ""
