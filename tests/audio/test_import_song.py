"""import_song: every format through one streaming ffmpeg decode, video sound tracks,
multichannel downmix with a note, file names ffmpeg could misread, and flat memory."""

from __future__ import annotations

import json
import subprocess

import import_song
import numpy as np
import pytest
import soundfile
from conftest import needs_ffmpeg
from dreamreel.core import song_io
from dreamreel.core.audio_io import read_audio
from dreamreel.core.errors import run_cli

MIX = {"dry_gain_db": 0.0, "wet_gain_db": -6.0, "loudness_lufs": -14.0, "true_peak_dbtp": -1.0, "normalize_song": False}
# 22 WMA frames or 44 AAC frames at 44.1 kHz: a length every codec here can end on exactly.
SOURCE_SAMPLES = 45056
SOURCE_RATE_HZ = 44100
VIDEO = ["-f", "lavfi", "-i", "color=size=32x32:rate=10:duration=1.2"]


def params(tmp_path, **overrides):
    path = tmp_path / "mix.json"
    path.write_text(json.dumps({**MIX, **overrides}))
    return str(path)


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def encode(path, *codec_args, video=False, channels=1):
    """A 440 Hz tone of SOURCE_SAMPLES at 44.1 kHz (amplitude 1/8), encoded by ffmpeg into ``path``."""
    tone = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={SOURCE_RATE_HZ},atrim=end_sample={SOURCE_SAMPLES}"]
    ffmpeg(*tone, *(VIDEO if video else []), "-ac", channels, *codec_args, "-shortest", path)
    return path


@needs_ffmpeg
@pytest.mark.parametrize(
    "suffix, codec_args, video, tolerance_ms",
    [
        (".m4a", ["-c:a", "aac"], False, 3),
        (".webm", ["-c:a", "libopus"], False, 3),
        (".opus", ["-c:a", "libopus"], False, 3),
        # ffmpeg's own WMA encoder loses one 2048-sample frame (46 ms) at the end of what
        # it writes: the file itself is short, whatever decodes it.
        (".wma", ["-c:a", "wmav2"], False, 47),
        (".mp4", ["-c:a", "aac", "-c:v", "libx264"], True, 3),
        (".mkv", ["-c:a", "libopus", "-c:v", "ffv1"], True, 3),
        (".mov", ["-c:a", "aac", "-c:v", "mpeg4"], True, 3),
    ],
)
def test_songs_and_video_sound_tracks_import_as_48k_stereo(tmp_path, suffix, codec_args, video, tolerance_ms):
    song = encode(tmp_path / f"clip{suffix}", *codec_args, video=video)
    out = tmp_path / "master.wav"
    assert run_cli(import_song.main, [str(song), str(out), "--params", params(tmp_path)]) == 0
    master, rate = read_audio(out)
    assert rate == 48000 and master.shape[0] == 2
    assert abs(master.shape[1] / 48000 - SOURCE_SAMPLES / SOURCE_RATE_HZ) * 1000 <= tolerance_ms
    assert np.array_equal(master[0], master[1])  # mono is copied to both channels, at its level
    middle = master[0, 4800:-4800]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.125 / np.sqrt(2), rel=0.1)


@needs_ffmpeg
def test_an_aac_song_ends_where_its_container_says(tmp_path):
    # ffmpeg 5 decodes the AAC padding after the song's last sample; the edit list says where it ends.
    song = encode(tmp_path / "clip.m4a", "-c:a", "aac")
    info = song_io.probe_song(song)
    assert abs(info.samples - SOURCE_SAMPLES) < 44  # within 1 ms (ffmpeg's muxer rounds the edit list)
    decoded = sum(block.shape[1] for block in song_io.decode_song_blocks(info, sample_rate_hz=44100))
    assert decoded == info.samples  # without the limit: 46080, the padding of the 45th AAC frame


@needs_ffmpeg
def test_a_video_without_sound_is_one_clear_line(tmp_path, capsys):
    video = tmp_path / "silent-film.mp4"
    ffmpeg(*VIDEO, "-c:v", "libx264", video)
    out = tmp_path / "master.wav"
    assert run_cli(import_song.main, [str(video), str(out), "--params", params(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dreamreel: error: ") and str(video) in err and "no audio stream" in err
    assert not out.exists()


@needs_ffmpeg
@pytest.mark.parametrize("name", ["chanson d'été — 日本.mp3", "a:b.flac", "-loud.wav", "file:x.ogg"])
def test_file_names_ffmpeg_could_misread_still_import(tmp_path, name):
    song = encode(tmp_path / name, *(["-c:a", "pcm_s16le"] if name.endswith(".wav") else []))
    out = tmp_path / "été" / "master.wav"
    assert run_cli(import_song.main, [str(song), str(out), "--params", params(tmp_path)]) == 0
    assert soundfile.info(str(out)).samplerate == 48000


def six_channels(levels) -> np.ndarray:
    """A 1 s, 48 kHz 440 Hz tone on six channels (FL FR FC LFE BL BR) at the given amplitudes."""
    tone = np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)
    return (np.asarray(levels, dtype=np.float64)[:, None] * tone).astype(np.float32)


@needs_ffmpeg
def test_six_channels_are_mixed_down_with_a_note(tmp_path, capsys):
    song = tmp_path / "surround.wav"
    # Only the centre sounds: it should reach both sides at -3 dB.
    soundfile.write(str(song), six_channels([0, 0, 0.5, 0, 0, 0]).T, 48000, subtype="FLOAT")
    out = tmp_path / "master.wav"
    assert run_cli(import_song.main, [str(song), str(out), "--params", params(tmp_path)]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if line.startswith("dreamreel: note: ")]
    assert len(notes) == 1 and "surround.wav has 6 channels" in notes[0] and "mixed down to stereo" in notes[0]
    master, _ = read_audio(out)
    assert master.shape[0] == 2
    np.testing.assert_allclose(np.abs(master[:, 1000:-1000]).max(axis=1), 0.5 / np.sqrt(2), rtol=1e-3)


@needs_ffmpeg
def test_a_loud_surround_mix_is_lowered_not_clipped(tmp_path, capsys):
    song = tmp_path / "loud.wav"
    soundfile.write(str(song), six_channels([0.9, 0.9, 0.9, 0.9, 0.9, 0.9]).T, 48000, subtype="FLOAT")
    out = tmp_path / "master.wav"
    assert run_cli(import_song.main, [str(song), str(out), "--params", params(tmp_path)]) == 0
    assert "level lowered" in capsys.readouterr().err
    master, _ = read_audio(out)
    peak = np.abs(master).max()
    # FL + 0.707 FC + 0.707 BL = 2.17 x 0.9 before the level is brought back to full scale.
    assert 0.99 <= peak <= 1.0
    # Unclipped: both sides are the tone itself, scaled to full scale (clipping flattens its tops).
    tone = six_channels([1, 0, 0, 0, 0, 0])[0]
    np.testing.assert_allclose(master, np.stack([tone, tone]) / np.abs(tone).max(), atol=1e-4)


@needs_ffmpeg
def test_stereo_and_mono_songs_get_no_note(tmp_path, capsys):
    song = encode(tmp_path / "stereo.flac", channels=2)
    assert run_cli(import_song.main, [str(song), str(tmp_path / "m.wav"), "--params", params(tmp_path)]) == 0
    assert "note" not in capsys.readouterr().err


@needs_ffmpeg
def test_decoding_stops_ffmpeg_when_the_reader_stops(tmp_path):
    song = encode(tmp_path / "clip.flac")
    blocks = song_io.decode_song_blocks(song_io.probe_song(song), sample_rate_hz=48000, block_frames=1024)
    first = next(blocks)
    assert first.shape == (2, 1024) and first.dtype == np.float32
    blocks.close()  # must not hang, nor leave ffmpeg running


def import_peak_rss_mb(tmp_path, seconds: float, **mix) -> float:
    """Peak resident memory of import_song in its own process, for a noise song of ``seconds``."""
    from dreamreel.benchmarks import measure, python_script

    song = tmp_path / f"song-{seconds:g}.wav"
    noise = 0.1 * np.random.default_rng(0).standard_normal((int(seconds * 44100), 2))
    noise[::22050] = 0.9  # peaks for the limiter when normalising
    soundfile.write(str(song), noise.astype(np.float32), 44100, subtype="FLOAT")
    return measure(python_script("import_song") + [song, tmp_path / f"master-{seconds:g}.wav", "--params", params(tmp_path, **mix)]).peak_rss_mb


@needs_ffmpeg
def test_import_memory_does_not_grow_with_the_song(tmp_path):
    # Both songs are longer than one true-peak chunk (5.5 s), so both reach the steady working set.
    short, long = import_peak_rss_mb(tmp_path, 8.0), import_peak_rss_mb(tmp_path, 40.0)
    # Holding the song grows by about 0.8 MB a second (the decoded bytes, then the float32
    # master): 26 MB more for the long song. Streamed, the two are within noise.
    assert long < short + 12.0, (short, long)


@needs_ffmpeg
def test_a_normalised_song_reaches_the_target_under_the_ceiling_as_the_whole_song_normalised_would(tmp_path):
    from dreamreel.audio.loudness import integrated_loudness, normalize, true_peak_db

    rng = np.random.default_rng(5)
    audio = (0.05 * rng.standard_normal((int(13.3 * 48000), 2))).astype(np.float32)
    audio[::9600] = 0.95  # clicks the limiter must catch
    soundfile.write(str(tmp_path / "song.wav"), audio, 48000, subtype="FLOAT")
    assert import_song.main([str(tmp_path / "song.wav"), str(tmp_path / "master.wav"), "--params", params(tmp_path, normalize_song=True)]) == 0
    master, rate = read_audio(tmp_path / "master.wav")
    assert integrated_loudness(master, rate) == pytest.approx(-14.0, abs=0.1)
    assert true_peak_db(master) <= -1.0 + 1e-3
    whole, _ = normalize(audio.T.copy(), 48000, loudness_lufs=-14.0, true_peak_dbtp=-1.0)
    np.testing.assert_allclose(master, whole, atol=2.0 ** -23)  # to the 24-bit step


@needs_ffmpeg
def test_normalising_keeps_memory_flat(tmp_path):
    # Held whole, the 40 s song, its peak envelope and the limiter's gain curves take
    # about 90 MB more than the 12 s one's. 12 s already has a chunk (5.5 s) with context
    # on both sides, so both reach the steady working set.
    short, long = import_peak_rss_mb(tmp_path, 12.0, normalize_song=True), import_peak_rss_mb(tmp_path, 40.0, normalize_song=True)
    print("peak RSS MB", short, long)
    assert long < short + 8.0, (short, long)
