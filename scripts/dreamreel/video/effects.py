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


AFFINE = ("zoom", "rotate", "translate", "shake")


def _affine(effect: str, value: np.ndarray, *, frame_index: np.ndarray, width_units: float, entry: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Where an output point reads from, for one affine effect: ``source = B @ p + s``.

    ``value`` and ``frame_index`` are (F,); returns B (F, 2, 2) and s (F, 2), float64.
    Coordinates are in half-shorter-side units, y down (a positive angle turns clockwise).
    """
    count = len(value)
    matrix = np.tile(np.eye(2), (count, 1, 1))
    shift = np.zeros((count, 2))
    if effect == "zoom":
        matrix /= (1.0 + value)[:, None, None]
    elif effect == "rotate":
        # The inverse of turning by the angle: read from the point turned back.
        angle = -2.0 * math.pi * value
        cos, sin = np.cos(angle), np.sin(angle)
        matrix = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    else:
        if effect == "translate":
            angle = np.full(count, math.radians(entry["angle_deg"] or 0.0))
        else:
            angle = 2.0 * math.pi * np.mod(frame_index * GOLDEN_TURNS, 1.0)
        distance = value * width_units
        shift = -distance[:, None] * np.stack([np.cos(angle), np.sin(angle)], -1)
    return matrix, shift


def _warp(frames, values: np.ndarray, indices: np.ndarray, entries: Sequence[Mapping]):
    """Apply the geometric entries to float frames (F, 3, H, W); ``values`` (E_geo, F).

    The output pixel reads through the last effect's map first, so the maps apply in
    reverse. Runs of affine maps (zoom, rotate, translate, shake) are multiplied into one
    2x3 matrix per frame and applied to the pixel grid once; swirl and chromatic, which
    are not affine, are applied to the grid itself.
    """
    torch = _torch()
    count, _, height, width = frames.shape
    half = min(height, width) / 2.0
    width_units = width / half
    x = ((torch.arange(width, dtype=torch.float64) + 0.5 - width / 2.0) / half).to(torch.float32).reshape(1, 1, 1, width)
    y = ((torch.arange(height, dtype=torch.float64) + 0.5 - height / 2.0) / half).to(torch.float32).reshape(1, 1, height, 1)
    pending = np.tile(np.eye(2), (count, 1, 1)), np.zeros((count, 2))
    identity = True

    def materialise(x, y):
        matrix, shift = (torch.from_numpy(part).to(torch.float32) for part in pending)
        a, b, c, d = (matrix[:, i, j].reshape(-1, 1, 1, 1) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
        return a * x + b * y + shift[:, 0].reshape(-1, 1, 1, 1), c * x + d * y + shift[:, 1].reshape(-1, 1, 1, 1)

    for entry, value in reversed(list(zip(entries, values))):
        effect = entry["effect"]
        if effect in AFFINE:
            matrix, shift = _affine(effect, value, frame_index=indices.astype(np.float64), width_units=width_units, entry=entry)
            # This map reads at matrix @ q + shift, where q is the pending map of the output point.
            pending = matrix @ pending[0], np.einsum("fij,fj->fi", matrix, pending[1]) + shift
            identity = False
            continue
        if not identity:
            x, y = materialise(x, y)
            pending, identity = (np.tile(np.eye(2), (count, 1, 1)), np.zeros((count, 2))), True
        x, y = x.to(torch.float32).expand(count, -1, height, width), y.to(torch.float32).expand(count, -1, height, width)
        amount = torch.from_numpy(value).to(torch.float32).reshape(-1, 1, 1, 1)
        if effect == "swirl":
            radius = torch.sqrt(x * x + y * y)
            twist = (-2.0 * math.pi) * amount * torch.clamp(1.0 - radius, min=0.0) ** 2
            cos, sin = torch.cos(twist), torch.sin(twist)
            x, y = x * cos - y * sin, x * sin + y * cos
        elif effect == "chromatic":
            # Red reads nearer the centre (it grows), blue further out (it shrinks), green stays.
            scale = torch.cat([1.0 + amount, torch.ones_like(amount), 1.0 - amount], dim=1)
            x, y = x / scale, y / scale
        else:
            raise ValueError(f"not a geometric effect: {effect}")
    if not identity:
        x, y = materialise(x, y)
    x, y = x.to(torch.float32).expand(count, -1, height, width), y.to(torch.float32).expand(count, -1, height, width)
    # Back to grid_sample's units: -1 and 1 are the outer edges of the frame.
    grid = torch.stack([x * (half / (width / 2.0)), y * (half / (height / 2.0))], dim=-1)
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
    work = (torch.from_numpy(np.ascontiguousarray(frames[active])).permute(0, 3, 1, 2).to(torch.float32) / 255.0).contiguous()

    geometry = [index for index, entry in enumerate(entries) if _kind(entry) == "geometry"]
    moving = np.flatnonzero(np.any(picked[geometry] != 0.0, axis=0)) if geometry else np.array([], dtype=np.int64)
    if len(moving):
        where = torch.from_numpy(moving)
        work[where] = _warp(work[where], picked[geometry][:, moving], active[moving] + first_frame, [entries[index] for index in geometry])

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
