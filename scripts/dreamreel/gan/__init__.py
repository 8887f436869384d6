"""The GAN stage: features of the music, the latent walk, and the frames rendered from it.

- :mod:`.sections`: the ``features``, ``notes``, ``latents``, ``gan`` and ``stylegan`` params.
- :mod:`.features`: bands, chroma, onsets, HPSS and RMS at each video frame instant.
- :mod:`.notes`: the score's notes as per-part signals at each frame (note-on, velocity,
  envelope, pitch, pitch classes, density); :mod:`.form`: the sections, from the score's
  marks or by segmenting a song.
- :mod:`.latents`, :mod:`.imagenet`: the BigGAN/cppn walk and its ImageNet classes.
- :mod:`.conduct`: the ``conduct`` mapping: parts' notes drive walk targets, sections change
  the scene; the dynamics gain that makes quiet sections move slowly.
- :mod:`.models`: the frame models (BigGAN, cppn, StyleGAN) behind one interface.
- :mod:`.stylegan`: the safe loader and clean-room generator for StyleGAN files, and the
  audio mapping to its ws.
- :mod:`.render`, :mod:`.ffmpeg`: content-addressed segments streamed from a model into
  ffmpeg, and their lossless concat.
- :mod:`.cluster`: the missing segments rendered as tasks on a Ray cluster
  (``gan.executor: ray``), into the same content-addressed cache.

Make rules: ``build/<piece>/gan/features.npz`` (analyze.py), ``notes.npz`` (notes.py), ``latents.npz``
(latents.py), ``segments.json`` and ``draft.json`` (render_frames.py; slurm_plan.py writes ``slurm.sh``), ``frames.mkv`` and
``draft.mkv`` (concat_frames.py). Imports ``core``, ``score`` and ``audio`` only.
"""
