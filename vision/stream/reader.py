"""A camera reader: one thread per camera pulling frames from an RTSP, HTTP(S) MJPEG or file source with OpenCV's
FFmpeg backend, sampling them at the camera's rate, and keeping only the latest one for the detector.

- Sampling is by wall clock: every frame is ``grab()``-bed (a live stream must be drained, or its latency grows
  without bound, and inter-coded video must be decoded frame by frame anyway), but only a due frame is
  ``retrieve()``-d, which is the colour conversion and copy of a full frame.
- Decoding no more than sampling needs: an intra-only MJPEG stream is read as packets (OpenCV's raw mode: ``grab()``
  only demuxes) and just the sampled JPEGs are decoded. H.264/H.265 frames depend on earlier ones, and OpenCV
  exposes no keyframe-only decoding, so there every frame is decoded; point such a camera's detector at its
  low-resolution sub-stream instead (``Camera.detect_source``), which costs a fraction of the main stream.
- Back-pressure: one slot holds the latest sampled frame that passed the motion gate; a new frame replaces an untaken
  one, which is counted as dropped. A slow detector thus sees fresh frames, never a growing backlog.
- Reconnection: a stream that cannot be opened, ends, errors, stalls (FFmpeg's read timeout interrupts a blocked
  read) or delivers only unusable frames for ``stall_s`` is closed and reopened after an exponential back-off with
  jitter (so many cameras behind one dropped link do not reconnect in lockstep).
- Files play at their own frame rate (a stand-in for a live camera in tests and demos) and optionally loop.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeGuard
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import cv2
import numpy as np
import numpy.typing as npt

from vision.motion import MotionGate

Image = npt.NDArray[np.uint8]
log = logging.getLogger(__name__)

URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
_FILE_FPS = 25.0  # pace of a file whose frame rate the container does not say
_MIN_SIDE = 16  # frames smaller than this are decoder garbage, not pictures


def is_url(source: str) -> bool:
    """True for network sources (rtsp://, rtsps://, http://, https://), False for file paths."""
    return source.lower().startswith(URL_SCHEMES)


def redact_source(source: str) -> str:
    """``source`` as it may be shown in status, logs and the audit log: a URL's user information (``user:secret@``,
    or a token alone: ``TOKEN@``) becomes ``***@`` and the value of every query parameter ``***`` (cameras take
    passwords and tokens there under any name: ``?user=admin&pwd=...``). A URL that does not parse is shown by its
    scheme alone, since where its secret ends cannot be told."""
    if "://" not in source:
        return source
    try:
        parts = urlsplit(source)
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # an unclosed IPv6 bracket...
        return f"{source.partition('://')[0]}://***"
    netloc = f"***@{parts.netloc.rpartition('@')[2]}" if "@" in parts.netloc else parts.netloc
    hidden = "&".join(f"{key}=***" for key, _ in query)
    return urlunsplit(parts._replace(netloc=netloc, query=hidden, fragment=""))


class StreamState(StrEnum):
    CONNECTING = "connecting"  # opening the source (first time, or after a back-off)
    ONLINE = "online"  # usable frames are arriving
    OFFLINE = "offline"  # failed, waiting to reconnect; or stopped, or a file that ended without looping


@dataclass(frozen=True)
class Frame:
    """A sampled frame.

    Attributes:
        image: (H, W, 3) uint8 BGR pixels.
        t: wall-clock time it was grabbed, seconds since the epoch.
        seq: 1-based number of the sampled frame since the reader started.
    """

    image: Image
    t: float
    seq: int


@dataclass(frozen=True)
class ReaderSettings:
    """How a reader opens, paces and recovers its source.

    Attributes:
        open_timeout_s: longest wait for a source to open (FFmpeg ``CAP_PROP_OPEN_TIMEOUT_MSEC``).
        read_timeout_s: longest wait for one read (FFmpeg ``CAP_PROP_READ_TIMEOUT_MSEC``): a stalled stream errors.
        stall_s: reconnect when no usable sampled frame arrived for this long though reads succeed.
        backoff_initial_s: first reconnect delay; doubles per failed attempt up to ``backoff_max_s``.
        backoff_max_s: longest reconnect delay.
        loop_files: replay a file source from the start when it ends.
        decode_threads: FFmpeg decoding threads per stream; 1 is the most efficient with many cameras on few cores.
    """

    open_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    stall_s: float = 15.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    loop_files: bool = False
    decode_threads: int = 1

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before reconnect ``attempt`` (1-based): exponential, capped, jittered to between half and all."""
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2.0 ** (attempt - 1))
        return rng.uniform(delay / 2, delay)


@dataclass(frozen=True)
class ReaderStatus:
    """A reader's health and counters.

    Attributes:
        state: see :class:`StreamState`.
        fps: sampled frames per second over the last few seconds (0 when none).
        last_frame_at: wall-clock time of the latest usable sampled frame, seconds since the epoch.
        frames_read: frames grabbed from the source.
        frames_skipped: grabbed but not sampled (between sampling instants).
        frames_rejected: sampled but unusable (empty, wrong shape or type).
        frames_gated: sampled, usable, but held back by the motion gate.
        frames_dropped: passed the gate but replaced by a newer frame before the detector took them.
        reconnects: times the source was reopened after a failure.
        last_error: the latest failure, if any.
        width, height: frame size of the stream, pixels (0 before the first frame).
        decoded: frames decoded: all of them (H.264, H.265...), or only the sampled ones (MJPEG read as packets).
    """

    state: StreamState
    fps: float
    last_frame_at: float | None
    frames_read: int
    frames_skipped: int
    frames_rejected: int
    frames_gated: int
    frames_dropped: int
    reconnects: int
    last_error: str | None
    width: int
    height: int
    decoded: int = 0


class _End(StrEnum):
    STOP = "stop"
    EOF = "eof"
    ERROR = "error"


def usable(image: object, shape: tuple[int, ...] | None) -> TypeGuard[Image]:
    """True for a (H, W, 3) uint8 frame at least 16 pixels a side, of the stream's ``shape`` once it is known."""
    return (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
        and min(image.shape[:2]) >= _MIN_SIDE
        and (shape is None or image.shape == shape)
    )


def _fourcc(cap: cv2.VideoCapture) -> str:
    """The stream's codec as a four-character code (``"MJPG"``, ``"h264"``...); empty if unknown."""
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    return code.to_bytes(4, "little").decode("ascii", "replace") if code > 0 else ""


class StreamReader:
    """Reads one camera in a thread of its own.

    Args:
        source: rtsp://, rtsps://, http(s):// (MJPEG or anything FFmpeg reads) URL, or a video file path.
        sample_fps: frames per second to sample, by wall clock.
        settings: timeouts, back-off and file looping.
        gate: motion gate; frames it holds back are kept for snapshots but not offered to :meth:`take`.
        notify: set whenever a frame is offered to :meth:`take` (one event can serve many readers).
        name: thread name, for logs.
    """

    def __init__(
        self,
        source: str,
        sample_fps: float,
        *,
        settings: ReaderSettings | None = None,
        gate: MotionGate | None = None,
        notify: threading.Event | None = None,
        name: str = "camera",
    ) -> None:
        if sample_fps <= 0:
            raise ValueError(f"sample_fps must be > 0, got {sample_fps}")
        self.source, self.sample_fps = source, sample_fps
        self.settings = settings or ReaderSettings()
        self.gate, self.notify, self.name = gate, notify, name
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()
        self._state = StreamState.OFFLINE
        self._pending: Frame | None = None
        self._last: Frame | None = None
        self._seq = 0
        self._sample_times: deque[float] = deque(maxlen=16)
        self._last_good = time.monotonic()  # watchdog: last usable sampled frame (or session start)
        self._counts = dict.fromkeys(("read", "skipped", "rejected", "gated", "dropped", "reconnects", "decoded"), 0)
        self._error: str | None = None
        self._shape: tuple[int, ...] | None = None

    # ---- control ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread (once)."""
        if self._thread is not None:
            raise RuntimeError(f"reader {self.name} already started")
        self._state = StreamState.CONNECTING
        # daemon: a read blocked inside FFmpeg (bounded by the read timeout) must not hold up interpreter exit
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop without waiting (stopping many readers: ask all, then :meth:`stop` each)."""
        self._stop.set()

    def stop(self, timeout: float | None = None) -> bool:
        """Ask the thread to stop and wait for it; returns False if it is still inside a blocking open or read
        after ``timeout`` seconds (default: the open plus read timeouts, after which FFmpeg gives up)."""
        self._stop.set()
        if self._thread is None:
            return True
        s = self.settings
        self._thread.join(s.open_timeout_s + s.read_timeout_s + 2.0 if timeout is None else timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---- consumers -------------------------------------------------------------------------------------

    def take(self) -> Frame | None:
        """The latest gated-in frame not taken yet, or None; the slot is emptied."""
        with self._lock:
            frame, self._pending = self._pending, None
            return frame

    def has_frame(self) -> bool:
        """True when :meth:`take` would return a frame."""
        return self._pending is not None

    def latest(self) -> Frame | None:
        """The latest usable sampled frame, gated or not (for snapshots); None before the first one."""
        return self._last

    def status(self) -> ReaderStatus:
        """A consistent copy of the counters; an online stream without a usable frame for ``stall_s`` (a read
        blocked inside FFmpeg) is reported offline before the thread itself notices."""
        with self._lock:
            state, error = self._state, self._error
            if state is StreamState.ONLINE and time.monotonic() - self._last_good > self._stall_after():
                state, error = StreamState.OFFLINE, f"no frame for more than {self.settings.stall_s:g} s"
            times = self._sample_times
            fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
            h, w = self._shape[:2] if self._shape else (0, 0)
            c = self._counts
            return ReaderStatus(
                state=state,
                fps=fps,
                last_frame_at=self._last.t if self._last else None,
                frames_read=c["read"],
                frames_skipped=c["skipped"],
                frames_rejected=c["rejected"],
                frames_gated=c["gated"],
                frames_dropped=c["dropped"],
                reconnects=c["reconnects"],
                last_error=error,
                width=w,
                height=h,
                decoded=c["decoded"],
            )

    # ---- the thread ------------------------------------------------------------------------------------

    def _stall_after(self) -> float:
        # a slow sampling rate must not look like a stall
        return self.settings.stall_s + 1.0 / self.sample_fps

    def _set(self, state: StreamState, error: str | None = None) -> None:
        with self._lock:
            self._state = state
            if error is not None:
                self._error = error
        if error is not None:
            log.warning("camera %s: %s", self.name, error)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                if self._state is not StreamState.ONLINE:
                    self._set(StreamState.CONNECTING)
                end, delivered = self._session()
            except Exception as exc:  # a reader that dies silently leaves a camera dark with nobody told
                # _set logs it; the message is scrubbed of the URL, which a traceback would quote with its secret
                message = str(exc).replace(self.source, redact_source(self.source))
                self._set(StreamState.OFFLINE, f"reader failed: {type(exc).__name__}: {message}"[:500])
                end, delivered = _End.ERROR, False
            if end is _End.STOP:
                break
            if delivered:
                attempt = 0  # the session delivered: back-off starts over
            if end is _End.EOF:
                if self.settings.loop_files and delivered:
                    continue
                self._set(StreamState.OFFLINE, "end of file")
                return
            attempt += 1
            self._count("reconnects")
            self._set(StreamState.OFFLINE)
            if self._stop.wait(self.settings.backoff(attempt, self._rng)):
                break
        self._set(StreamState.OFFLINE)

    def _session(self) -> tuple[_End, bool]:
        """Open the source and read it until the session ends; how it ended and whether it delivered a frame."""
        cap = self._open()
        seq_before = self._seq
        if cap is None:
            return _End.ERROR, False
        try:
            return self._read(cap), self._seq > seq_before
        finally:
            cap.release()

    def _open(self) -> cv2.VideoCapture | None:
        s = self.settings
        if not is_url(self.source) and not Path(self.source).is_file():
            self._set(StreamState.OFFLINE, f"no such file: {self.source}")
            return None
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            round(s.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            round(s.read_timeout_s * 1000),
            cv2.CAP_PROP_N_THREADS,
            s.decode_threads,
        ]
        cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            self._set(StreamState.OFFLINE, f"cannot open {redact_source(self.source)}")
            return None
        return cap

    def _read(self, cap: cv2.VideoCapture) -> _End:
        """Read one opened session until it ends, fails, stalls or the reader is stopped."""
        live = is_url(self.source)
        native_fps = cap.get(cv2.CAP_PROP_FPS) if not live else 0.0
        frame_period = 1.0 / (native_fps if 0.0 < native_fps < 1000.0 else _FILE_FPS)
        sample_period = 1.0 / self.sample_fps
        # MJPEG: packets only, the sampled ones decoded below; other codecs decode in grab()
        packets = _fourcc(cap) == "MJPG" and cap.set(cv2.CAP_PROP_FORMAT, -1)
        start = time.monotonic()
        grabbed = 0
        next_due = time.time()
        with self._lock:
            self._shape, self._last_good = None, start
        while not self._stop.is_set():
            if not live:  # play a file at its own pace, as a camera would deliver it
                delay = start + grabbed * frame_period - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return _End.STOP
            if not cap.grab():
                if not live:
                    return _End.EOF
                self._set(StreamState.OFFLINE, "stream ended or read timed out")
                return _End.ERROR
            grabbed += 1
            now, mono = time.time(), time.monotonic()
            self._count("read")
            if not packets:
                self._count("decoded")
            if now < next_due:
                self._count("skipped")
            else:
                # the next instant is one period on; after a hiccup, one period from now (no burst to catch up)
                next_due = next_due + sample_period if next_due + sample_period > now else now + sample_period
                ok, retrieved = cap.retrieve()
                image: object = retrieved
                if ok and packets:
                    self._count("decoded")
                    image = cv2.imdecode(retrieved, cv2.IMREAD_COLOR)
                if ok and usable(image, self._shape):
                    self._publish(image, now, mono)
                    continue
                self._count("rejected")
            if mono - self._last_good > self._stall_after():
                self._set(StreamState.OFFLINE, f"no usable frame for {self.settings.stall_s:g} s")
                return _End.ERROR
        return _End.STOP

    def _publish(self, image: Image, t: float, mono: float) -> None:
        passed = self.gate is None or self.gate.check(image, t).passed
        with self._lock:
            self._seq += 1
            frame = Frame(image, t, self._seq)
            self._last, self._shape, self._last_good = frame, image.shape, mono
            self._sample_times.append(mono)
            self._state = StreamState.ONLINE
            if passed:
                self._counts["dropped"] += self._pending is not None
                self._pending = frame
            else:
                self._counts["gated"] += 1
        if passed and self.notify is not None:
            self.notify.set()
