"""Frame models: generators that turn one batch of latents into RGB frames.

Every model follows :class:`dreamreel.gan.models.base.FrameModel`; :mod:`.registry` builds one
by name (``auto``, ``cppn``, ``biggan-deep-128|256|512``, and any registered later).
"""
