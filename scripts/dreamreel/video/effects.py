"""The image effects: geometry warps, colour changes and filters on a block of frames.

A block is ``(N, H, W, 3)`` uint8 RGB frames; each effect entry has one value per frame
(:func:`dreamreel.video.keying.key_effects`), in the unit :data:`EFFECTS_KNOWN` gives.
The chain runs in two steps, each in the order of the list:

1. **Geometry** (zoom, rotate, swirl, translate, shake, chromatic): every warp is a map
   from an output pixel to the place it is read from, so the whole list composes into
   one sampling grid and the picture is interpolated once (bilinear), not once per
   effect. Pixels read from outside the frame are mirrored back in, so a zoom out or a
   rotation shows reflected picture rather than black corners. chromatic gives the red
   and blue channels a grid of their own (red read as if zoomed in, blue out).
2. **Filters and colour**: blur (Gaussian, the frame width as unit) and sharpen (unsharp
   masking), both reflecting at the edges; flash, contrast, saturation and hue as
   per-pixel arithmetic in [0, 1].

Geometry goes first, whatever its place in the list, so that the picture is resampled once.

Coordinates are measured from the frame's centre in units of half its shorter side, so
rotation and swirl stay round on a non-square frame; y points down, so a positive
rotation turns clockwise on screen. An effect whose value on a frame is exactly 0 is not
applied to that frame at all, and a frame with no effect on returns its input bytes: an
amount of 0 is the identity, bit for bit. Everything is deterministic: the shake's
direction comes from the frame's index, not from a random generator.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from dreamreel.video.sections import EFFECTS_KNOWN

# Shake directions: frame k moves towards k·(golden ratio) turns, which never repeats and
# spreads evenly around the circle, so successive frames jump in unrelated directions.
GOLDEN_TURNS = (math.sqrt(5.0) - 1.0) / 2.0
# Unsharp masking subtracts a blur of 1/512 of the frame width: the finest detail at any size.
SHARPEN_SIGMA_WIDTHS = 1.0 / 512.0
# Rec. 709 luma weights, the colour space of the finished video.
LUMA = (0.2126, 0.7152, 0.0722)


def _kind(entry: Mapping) -> str:
    return EFFECTS_KNOWN[entry["effect"]].kind


def _torch():
    import torch

    return torch


def _rotate(x, y, angle):
    """(x, y) turned by ``angle`` radians (clockwise on screen: y points down)."""
    torch = _torch()
    cos, sin = torch.cos(angle), torch.sin(angle)
    return x * cos - y * sin, x * sin + y * cos


def _source_of(effect: str, x, y, value, *, frame_index, width_units: float, entry: Mapping):
    """Where an output pixel at (x, y) reads from, for one geometric effect of ``value``.

    ``x``, ``y`` are tensors (F, C, H, W) in half-shorter-side units; ``value`` and
    ``frame_index`` are (F, 1, 1, 1). ``width_units`` is the frame width in those units.
    """
    torch = _torch()
    if effect == "zoom":
        return x / (1.0 + value), y / (1.0 + value)
    if effect == "rotate":
        return _rotate(x, y, -2.0 * math.pi * value)
    if effect == "swirl":
        radius = torch.sqrt(x * x + y * y)
        twist = 2.0 * math.pi * value * torch.clamp(1.0 - radius, min=0.0) ** 2
        return _rotate(x, y, -twist)
    if effect in ("translate", "shake"):
        if effect == "translate":
            angle = torch.full_like(value, math.radians(entry["angle_deg"] or 0.0))
        else:
            angle = 2.0 * math.pi * torch.remainder(frame_index * GOLDEN_TURNS, 1.0)
        distance = value * width_units
        return x - distance * torch.cos(angle), y - distance * torch.sin(angle)
    if effect == "chromatic":
        # Red reads nearer the centre (it grows), blue further out (it shrinks), green stays.
        scale = torch.cat([1.0 + value, torch.ones_like(value), 1.0 - value], dim=1)
        return x / scale, y / scale
    raise ValueError(f"not a geometric effect: {effect}")


def _warp(frames, values, indices, entries: Sequence[Mapping]):
    """Apply the geometric entries to float frames (F, 3, H, W); values (E_geo, F)."""
    torch = _torch()
    count, _, height, width = frames.shape
    half = min(height, width) / 2.0
    xs = (torch.arange(width, dtype=torch.float32) + 0.5 - width / 2.0) / half
    ys = (torch.arange(height, dtype=torch.float32) + 0.5 - height / 2.0) / half
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    x = x.expand(count, 1, height, width)
    y = y.expand(count, 1, height, width)
    frame_index = indices.reshape(-1, 1, 1, 1).to(torch.float64)
    # The output pixel reads through the last effect's map first: apply them in reverse.
    for entry, value in reversed(list(zip(entries, values))):
        value = value.reshape(-1, 1, 1, 1).to(torch.float32)
        x, y = _source_of(entry["effect"], x, y, value, frame_index=frame_index, width_units=width / half, entry=entry)
    # Back to grid_sample's units: -1 and 1 are the outer edges of the frame.
    grid = torch.stack([x * half / (width / 2.0), y * half / (height / 2.0)], dim=-1).to(torch.float32)
    if grid.shape[1] == 1:
        return torch.nn.functional.grid_sample(frames, grid[:, 0], mode="bilinear", padding_mode="reflection", align_corners=False)
    channels = frames.reshape(count * 3, 1, height, width)
    per_channel = grid.reshape(count * 3, height, width, 2)
    sampled = torch.nn.functional.grid_sample(channels, per_channel, mode="bilinear", padding_mode="reflection", align_corners=False)
    return sampled.reshape(count, 3, height, width)


def _gaussian(frame, sigma_px: float):
    """A Gaussian blur of one float frame (3, H, W), mirrored at the edges, 3 sigma wide.

    scipy filters one axis at a time; on a CPU that is faster than a depthwise torch
    convolution with a kernel this long.
    """
    from scipy.ndimage import gaussian_filter

    torch = _torch()
    blurred = gaussian_filter(frame.numpy(), sigma=(0.0, sigma_px, sigma_px), mode="reflect", truncate=3.0)
    return torch.from_numpy(np.ascontiguousarray(blurred, dtype=np.float32))


def _filter(frame, effect: str, value: float):
    """One filter on one float frame (3, H, W)."""
    width = frame.shape[-1]
    if effect == "blur":
        return _gaussian(frame, value * width)
    detail = frame - _gaussian(frame, max(SHARPEN_SIGMA_WIDTHS * width, 0.5))
    return frame + value * detail


def _colour(frames, effect: str, value):
    """One colour effect on float frames (F, 3, H, W) with values (F, 1, 1, 1)."""
    torch = _torch()
    if effect == "flash":
        towards_white = frames + (1.0 - frames) * value
        return torch.where(value > 0, towards_white, frames * (1.0 + value))
    if effect == "contrast":
        return (frames - 0.5) * (1.0 + value) + 0.5
    if effect == "saturation":
        luma = torch.tensor(LUMA, dtype=frames.dtype).reshape(1, 3, 1, 1)
        grey = (frames * luma).sum(dim=1, keepdim=True)
        return grey + (frames - grey) * (1.0 + value)
    if effect == "hue":
        # Rotation about the grey axis (1, 1, 1)/sqrt(3) (Rodrigues): greys stay grey,
        # a half turn maps every colour to its complement of the same lightness.
        angle = 2.0 * math.pi * value.reshape(-1).to(torch.float64)
        cos, sin = torch.cos(angle), torch.sin(angle)
        third = (1.0 - cos) / 3.0
        root = sin / math.sqrt(3.0)
        a, b, c = cos + third, third - root, third + root
        matrix = torch.stack([torch.stack([a, b, c], -1), torch.stack([c, a, b], -1), torch.stack([b, c, a], -1)], -2).to(frames.dtype)
        return torch.einsum("fij,fjhw->fihw", matrix, frames)
    raise ValueError(f"not a colour effect: {effect}")


def apply_effects(frames: np.ndarray, values: np.ndarray, entries: Sequence[Mapping], *, first_frame: int) -> np.ndarray:
    """Run the chain over a block of frames.

    Parameters
    ----------
    frames : ndarray, uint8, shape (N, H, W, 3)
        RGB frames; ``first_frame`` is the index of the first in the whole video.
    values : ndarray, float, shape (E, N)
        Each entry's value on each frame (:func:`dreamreel.video.keying.key_effects`).
    entries : sequence of mapping
        The checked entries of ``effects.chain``, defaults filled in.

    Returns
    -------
    ndarray, uint8, shape (N, H, W, 3)
        The frames with the effects; a frame on which every value is 0 is the input, unchanged.
    """
    torch = _torch()
    values = np.asarray(values, dtype=np.float64).reshape(len(entries), len(frames))
    active = np.flatnonzero(np.any(values != 0.0, axis=0))
    out = frames.copy()
    if len(active) == 0 or len(entries) == 0:
        return out
    picked = values[:, active]
    work = torch.from_numpy(np.ascontiguousarray(frames[active])).permute(0, 3, 1, 2).to(torch.float32) / 255.0

    geometry = [index for index, entry in enumerate(entries) if _kind(entry) == "geometry"]
    moving = np.flatnonzero(np.any(picked[geometry] != 0.0, axis=0)) if geometry else np.array([], dtype=np.int64)
    if len(moving):
        where = torch.from_numpy(moving)
        warped = _warp(work[where], torch.from_numpy(picked[geometry][:, moving]), torch.from_numpy(active[moving] + first_frame),
                       [entries[index] for index in geometry])
        work[where] = warped

    for index, entry in enumerate(entries):
        kind = _kind(entry)
        if kind == "geometry":
            continue
        on = np.flatnonzero(picked[index] != 0.0)
        if len(on) == 0:
            continue
        where = torch.from_numpy(on)
        if kind == "filter":
            for position in on:
                work[int(position)] = _filter(work[int(position)], entry["effect"], float(picked[index, position]))
        else:
            value = torch.from_numpy(picked[index, on]).to(torch.float32).reshape(-1, 1, 1, 1)
            work[where] = _colour(work[where], entry["effect"], value)
    result = torch.round(torch.clamp(work, 0.0, 1.0) * 255.0).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    out[active] = result
    return out
