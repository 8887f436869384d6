"""Transcribe a song's notes with Spotify's basic-pitch model, run offline through onnxruntime.

The model (Bittner et al., ICASSP 2022) ships as an ONNX file inside the basic-pitch
package. That package's own dependencies pull TensorFlow 2.15 and numpy<2, which our
environment cannot take, so `make setup` installs it without them (``pip install
--no-deps basic-pitch==0.4.0``) and this module only reads its model file; it never
imports basic_pitch. The framing and the note extraction here are our own, from the
model's published facts:

- input: mono audio at 22050 Hz in windows of 43844 samples (2 s less one hop);
- output per window: 172 frames at a hop of 256 samples (about 86 frames a second),
  frame k of a window at the window's start + k·256 samples; for each frame, 88 piano
  keys from MIDI 21 (A0): a note activation (the key sounds), an onset activation (it
  starts) and a finer pitch contour (3 bins a semitone, unused here).

Windows overlap: the first and last :data:`CONTEXT_FRAMES` of each window see too little
audio around them, so only the middle frames of each are kept, and consecutive windows
are placed so that the kept frames tile the song. The song is read, resampled and run a
few windows at a time, and notes are tracked frame by frame as the activations arrive,
so memory does not grow with the song's length (only the list of notes does).

Notes: a note starts where a key's onset activation is a peak in time at or above
``onset_threshold``; it goes on while its note activation stays at or above
``frame_threshold`` (a new onset of the same key ends it and starts the next); notes
shorter than ``min_note_s`` are dropped. A note's velocity is its mean note activation
scaled to 1-127: the model's confidence, not the loudness of the note.

The result is a :class:`Score` with one part, ``transcribed``, on a clock of one tick
per sample at 22050 Hz (60 BPM, 22050 ticks a quarter), so every frame time is a whole
tick and exact.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from dreamreel.core.errors import DreamreelError
from dreamreel.score.model import MeterChange, Note, Part, Score, TempoChange, bars_from_meters

MODEL_PACKAGE = "basic-pitch"
MODEL_VERSION = "0.4.0"
MODEL_FILE = "basic_pitch/saved_models/icassp_2022/nmp.onnx"
MODEL_RATE_HZ = 22050
HOP_SAMPLES = 256
WINDOW_SAMPLES = 43844
WINDOW_FRAMES = 172
N_KEYS = 88
LOWEST_PITCH = 21  # MIDI A0, the model's first key
# Frames dropped at each edge of a window; the kept middle frames tile the song.
CONTEXT_FRAMES = 15
KEPT_FRAMES = WINDOW_FRAMES - 2 * CONTEXT_FRAMES
# Windows per model run: enough to amortise the call, few enough that memory stays small.
WINDOWS_PER_RUN = 8
# The model's outputs carry TensorFlow's export names; which is which we checked on a
# synthetic note (the onset output peaks on the note's first frame, the note output
# holds while it sounds). The contour output (264 bins) is the third.
NOTE_OUTPUT = "StatefulPartitionedCall:1"
ONSET_OUTPUT = "StatefulPartitionedCall:2"
# A note's activation may lag its onset by a frame or two: it is not ended before this.
GRACE_FRAMES = 2
PART_NAME = "transcribed"
TICKS_PER_QUARTER = MODEL_RATE_HZ
US_PER_QUARTER = 1_000_000  # 60 BPM: one tick is one sample at 22050 Hz


def model_path(where: str) -> Path:
    """The ONNX file inside the installed basic-pitch package (the package is never imported)."""
    fix = f"make setup installs it (pip install --no-deps {MODEL_PACKAGE}=={MODEL_VERSION}); or give the song's notes as MIDI=song.mid"
    try:
        distribution = metadata.distribution(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        raise DreamreelError(where, f"the transcription model is not installed ({MODEL_PACKAGE} is missing)", fix) from None
    path = Path(distribution.locate_file(MODEL_FILE))
    if not path.is_file():
        raise DreamreelError(where, f"{MODEL_PACKAGE} {distribution.version} has no model file {MODEL_FILE}", fix)
    return path


def open_model(path: Path, where: str):
    """An onnxruntime session of the model, on the CPU, one thread: the same notes on every machine."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers are not ours to show
    session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    outputs = {output.name: output.shape for output in session.get_outputs()}
    if len(inputs) != 1 or list(inputs[0].shape[1:]) != [WINDOW_SAMPLES, 1] or any(list(outputs.get(name, [])[1:]) != [WINDOW_FRAMES, N_KEYS] for name in (NOTE_OUTPUT, ONSET_OUTPUT)):
        raise DreamreelError(where, f"{path} is not the basic-pitch model this transcriber reads (inputs {[i.shape for i in inputs]}, outputs {outputs})",
                             f"install {MODEL_PACKAGE}=={MODEL_VERSION} (make setup)")
    return session


def _resampled(blocks: Iterable[np.ndarray], rate_hz: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks at ``rate_hz``, resampled to the model's rate with soxr's stream."""
    import soxr

    if rate_hz == MODEL_RATE_HZ:
        yield from blocks
        return
    stream = soxr.ResampleStream(rate_hz, MODEL_RATE_HZ, 1, dtype="float32", quality="HQ")
    for block in blocks:
        yield stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))
    yield stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def activations(session, blocks: Iterable[np.ndarray], rate_hz: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(note, onset) activations, float32 (k, 88) each, of consecutive model frames.

    Frame j of the song is at j·256 samples at 22050 Hz; the frames run to the first one
    at or after the song's end. ``blocks`` are mono float32 at ``rate_hz``.
    """
    input_name = session.get_inputs()[0].name
    # The song starts CONTEXT_FRAMES into the first window, so its first kept frame is frame 0.
    buffer = np.zeros(CONTEXT_FRAMES * HOP_SAMPLES, dtype=np.float32)
    windows: list[np.ndarray] = []
    samples = made = emitted = 0

    def run(batch: list[np.ndarray], limit: int | None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        nonlocal emitted
        note, onset = session.run([NOTE_OUTPUT, ONSET_OUTPUT], {input_name: np.stack(batch)[:, :, None]})
        for k in range(len(batch)):
            kept = slice(CONTEXT_FRAMES, CONTEXT_FRAMES + KEPT_FRAMES)
            rows = KEPT_FRAMES if limit is None else min(KEPT_FRAMES, limit - emitted)
            if rows > 0:
                yield note[k, kept][:rows], onset[k, kept][:rows]
                emitted += rows

    for block in _resampled(blocks, rate_hz):
        samples += len(block)
        buffer = np.concatenate([buffer, block])
        while len(buffer) >= WINDOW_SAMPLES:
            windows.append(buffer[:WINDOW_SAMPLES])
            buffer = buffer[KEPT_FRAMES * HOP_SAMPLES:]
            made += 1
            if len(windows) == WINDOWS_PER_RUN:
                yield from run(windows, None)
                windows = []
    n_frames = -(-samples // HOP_SAMPLES)
    while made * KEPT_FRAMES < n_frames:  # the song's end, padded with silence
        windows.append(np.concatenate([buffer, np.zeros(WINDOW_SAMPLES, dtype=np.float32)])[:WINDOW_SAMPLES])
        buffer = buffer[KEPT_FRAMES * HOP_SAMPLES:]
        made += 1
        if len(windows) == WINDOWS_PER_RUN:
            yield from run(windows, n_frames)
            windows = []
    if windows:
        yield from run(windows, n_frames)


class NoteTracker:
    """Notes from (note, onset) activations fed frame by frame, in order.

    A frame's onset is a peak when it is at or above the onset threshold, at least the
    previous frame's and above the next frame's; so each frame is decided one frame late.
    """

    def __init__(self, *, onset_threshold: float, frame_threshold: float, min_frames: int):
        self.onset_threshold = onset_threshold
        self.frame_threshold = frame_threshold
        self.min_frames = max(1, min_frames)
        self.frame = -1  # the frame held, waiting for the next one
        self.held: tuple[np.ndarray, np.ndarray] | None = None
        self.previous_onset = np.zeros(N_KEYS, dtype=np.float32)
        self.start = np.full(N_KEYS, -1, dtype=np.int64)
        self.total = np.zeros(N_KEYS, dtype=np.float64)
        self.notes: list[tuple[int, int, int, int]] = []  # (start frame, end frame, pitch, velocity)

    def feed(self, note: np.ndarray, onset: np.ndarray) -> None:
        for note_row, onset_row in zip(note, onset):
            if self.held is not None:
                self._decide(*self.held, next_onset=onset_row)
            self.held = (note_row, onset_row)
            self.frame += 1

    def finish(self) -> list[tuple[int, int, int, int]]:
        """The notes, by start frame and pitch; every note still sounding ends after the last frame."""
        if self.held is not None:
            self._decide(*self.held, next_onset=np.zeros(N_KEYS, dtype=np.float32))
            self.held = None
        for key in np.nonzero(self.start >= 0)[0]:
            self._close(int(key), self.frame + 1)
        return sorted(self.notes)

    def _decide(self, note_row: np.ndarray, onset_row: np.ndarray, *, next_onset: np.ndarray) -> None:
        frame = self.frame
        peak = (onset_row >= self.onset_threshold) & (onset_row >= self.previous_onset) & (onset_row > next_onset)
        sounding = self.start >= 0
        ended = sounding & (peak | ((note_row < self.frame_threshold) & (frame > self.start + GRACE_FRAMES)))
        for key in np.nonzero(ended)[0]:
            self._close(int(key), frame)
        self.start[peak] = frame
        self.total[peak] = 0.0
        sounding = self.start >= 0
        self.total[sounding] += note_row[sounding]
        self.previous_onset = onset_row

    def _close(self, key: int, end: int) -> None:
        start = int(self.start[key])
        self.start[key] = -1
        if end - start >= self.min_frames:
            mean = self.total[key] / (end - start)
            velocity = 1 + int(round(126 * min(1.0, max(0.0, mean))))
            self.notes.append((start, end, LOWEST_PITCH + key, velocity))


def transcribe_blocks(blocks: Iterable[np.ndarray], rate_hz: int, *, params: dict, where: str) -> Score:
    """A song's notes as a one-part :class:`Score` (see the module notes).

    ``blocks`` are mono float32 blocks of the song at ``rate_hz``; ``params`` is the
    ``song`` section (``onset_threshold``, ``frame_threshold``, ``min_note_s``).
    """
    session = open_model(model_path(where), where)
    tracker = NoteTracker(onset_threshold=params["onset_threshold"], frame_threshold=params["frame_threshold"],
                          min_frames=int(round(params["min_note_s"] * MODEL_RATE_HZ / HOP_SAMPLES)))
    for note, onset in activations(session, blocks, rate_hz):
        tracker.feed(note, onset)
    found = tracker.finish()
    if not found:
        raise DreamreelError(where, "transcription (basic-pitch) found no notes in the song: is it silent?",
                             "give the song's notes as MIDI=song.mid, or set song.transcribe: off")
    notes = [Note(start * HOP_SAMPLES, end * HOP_SAMPLES, pitch, velocity) for start, end, pitch, velocity in found]
    meters = [MeterChange(0, 4, 4)]
    end_tick = max(note.end_tick for note in notes)
    return Score(
        ticks_per_quarter=TICKS_PER_QUARTER,
        parts=[Part(name=PART_NAME, label="Transcribed", program=0, notes=sorted(notes, key=lambda n: (n.start_tick, n.pitch)))],
        tempos=[TempoChange(0, US_PER_QUARTER)],
        meters=meters,
        bar_ticks=bars_from_meters(meters, TICKS_PER_QUARTER, end_tick),
        first_bar_number=1,
        source=where,
    )
