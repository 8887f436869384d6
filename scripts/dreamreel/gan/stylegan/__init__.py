"""StyleGAN2 and StyleGAN3 without NVlabs code: a safe loader, clean-room generators, audio-driven ws.

Modules: :mod:`.safe_pickle` (restricted unpickling), :mod:`.quoting` (file text made safe
to print), :mod:`.formats` (the file families in one naming), :mod:`.loader`
(``load_generator``), :mod:`.network` (the StyleGAN2 generator), :mod:`.network3` (the
StyleGAN3 t/r generator), :mod:`.blend` (two StyleGAN2 models blended by resolution),
:mod:`.audio` (features -> ws). The ``stylegan`` params section and ``gan.blend`` are
declared in :mod:`dreamreel.gan.sections`. Nothing is imported here, so reading the params
schema does not import torch.
"""
