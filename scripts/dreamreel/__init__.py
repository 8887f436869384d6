"""dreamreel: turn a score or a song into an audio-reactive GAN music video.

The package holds all logic; the scripts in ``scripts/`` are thin command-line shells
over it, one per Make stage.
"""

__version__ = "0.1.0"
