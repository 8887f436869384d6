"""StyleGAN2 without NVlabs code: a safe loader, a clean-room generator, audio-driven ws.

Modules: :mod:`.safe_pickle` (restricted unpickling), :mod:`.formats` (the three file
families in one naming), :mod:`.loader` (``load_generator``), :mod:`.network` (the
generator), :mod:`.audio` (features -> ws). The ``stylegan`` params section is declared in
:mod:`dreamreel.gan.sections`. Nothing is imported here, so reading the params schema
does not import torch.
"""
