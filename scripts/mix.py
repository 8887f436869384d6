"""Mix build/fx/*.{dry,wet}.wav into build/mix/master.wav: 48 kHz stereo, loudness-normalised.

Inputs:  --dry FILES, --wet FILES (every part's buses, same length)
Outputs: OUT (24-bit WAV): integrated loudness at mix.loudness_lufs, true peak at or
         under mix.true_peak_dbtp, never clipped
Params:  mix.dry_gain_db, mix.wet_gain_db, mix.loudness_lufs, mix.true_peak_dbtp

The buses are summed, measured, limited and written block by block (read again for each
pass), so memory does not grow with the song's length.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamreel.audio.loudness import normalize_stream
from dreamreel.audio.mixing import sum_buses
from dreamreel.core.audio_io import write_audio_blocks
from dreamreel.core.errors import DreamreelError, run_cli
from dreamreel.core.memory import keep_large_buffers_out_of_the_heap
from dreamreel.core.params import add_params_name_option, load_section


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--params", type=Path, required=True, help="build/params/mix.json")
    parser.add_argument("--dry", type=Path, nargs="+", required=True)
    parser.add_argument("--wet", type=Path, nargs="+", required=True)
    add_params_name_option(parser)
    args = parser.parse_args(argv)

    settings, where = load_section(args.params, "mix", params_name=args.params_name)
    rate, channels, read_blocks = sum_buses(args.dry, args.wet, dry_gain_db=settings["dry_gain_db"], wet_gain_db=settings["wet_gain_db"])
    keep_large_buffers_out_of_the_heap()
    if not any(block.any() for block in read_blocks()):
        raise DreamreelError(f"{args.params_name}: parts", "the mix is silent", f"unmute a part, or raise parts.<name>.gain_db or {where}.dry_gain_db / wet_gain_db")
    # The buses are read again for each pass (measure, each gain round, true peak, write).
    master, report = normalize_stream(read_blocks, rate, loudness_lufs=settings["loudness_lufs"], true_peak_dbtp=settings["true_peak_dbtp"])
    write_audio_blocks(args.out, master(), rate, channels=channels, subtype="PCM_24")
    print(
        f"master: {report.loudness_in_lufs:.1f} -> {report.loudness_out_lufs:.2f} LUFS, true peak {report.true_peak_out_dbtp:.2f} dBTP, "
        f"limiter {report.limiter_reduction_db:.1f} dB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
