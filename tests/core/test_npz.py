"""Deterministic .npz files: members written whole or streamed block by block give the same bytes."""

from __future__ import annotations

import numpy as np
import pytest
from dreamreel.core.npz import StreamedArray, open_npz, save_npz


def arrays() -> dict:
    rng = np.random.default_rng(0)
    return {"big": rng.random((5000, 40)).astype(np.float32), "empty": np.zeros((0, 3)), "scalar": np.int64(7), "vector": np.arange(10.0)}


def test_a_streamed_member_writes_the_bytes_of_the_whole_array(tmp_path):
    whole = arrays()
    save_npz(tmp_path / "whole.npz", whole)
    big = whole["big"]
    streamed = {**whole, "big": StreamedArray(big.shape, big.dtype, lambda: (big[i : i + 333] for i in range(0, len(big), 333)))}
    save_npz(tmp_path / "streamed.npz", streamed)
    assert (tmp_path / "streamed.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()
    opened = open_npz(tmp_path / "streamed.npz")
    assert np.array_equal(opened["big"], big) and opened["empty"].shape == (0, 3) and int(opened["scalar"]) == 7


def test_the_bytes_match_what_numpy_save_writes_per_member(tmp_path):
    import io
    import zipfile

    save_npz(tmp_path / "a.npz", arrays())
    with zipfile.ZipFile(tmp_path / "a.npz") as archive:
        for name, array in arrays().items():
            expected = io.BytesIO()
            np.save(expected, np.asarray(array))
            assert archive.read(f"{name}.npy") == expected.getvalue(), name


@pytest.mark.parametrize("rows", [4999, 5001])
def test_a_stream_that_does_not_fill_its_shape_is_an_error_and_writes_nothing(tmp_path, rows):
    block = np.zeros((rows, 4), np.float32)
    with pytest.raises(ValueError):
        save_npz(tmp_path / "bad.npz", {"x": StreamedArray((5000, 4), np.dtype(np.float32), lambda: iter([block]))})
    assert list(tmp_path.iterdir()) == []
