"""Built-in generators and discriminators.

Generators (``(scale, channels=3, size="small", **options) -> nn.Module``, ``[0, 1]`` LR in,
unclamped SR out): ``srresnet`` (SRGAN, with ``grow()`` for progressive x2 -> x4),
``srresnet_resize`` (the same with resize-convolution upsampling), ``rrdb`` (ESRGAN) and
``encdec`` (iterative x2 encoder-decoder, powers of two only).

Discriminators (``(channels=3, size="small", **options) -> nn.Module`` returning raw logits):
``srgan`` ``(B,)``, ``patchgan`` ``(B, 1, H', W')`` and ``unet`` ``(B, 1, H, W)``; all accept
``spectral_norm``, ``minibatch_stddev`` and ``features``.

Each factory carries its option dataclass as ``factory.Options`` (``srbench list generators
--options NAME``).
"""

from srbench.hookspecs import hookimpl

from . import encdec, patchgan, rrdb, srgan_discriminator, srresnet, unet_discriminator
from .common import UnsupportedScaleError
from .minibatch_stddev import MinibatchStdDev

__all__ = ["MinibatchStdDev", "UnsupportedScaleError"]


@hookimpl
def srbench_register_generators(generators):
    generators.register("srresnet", srresnet.create,
                        "SRGAN generator (SRResNet): residual blocks + pixel shuffle; x2/x3/x4, grow() x2 -> x4")
    generators.register("srresnet_resize", srresnet.create_resize,
                        "SRResNet with resize-convolution upsampling (nearest + conv): no free period-2/4 stripes")
    generators.register("rrdb", rrdb.create,
                        "ESRGAN generator: residual-in-residual dense blocks, no batch norm; x2/x3/x4")
    generators.register("encdec", encdec.create,
                        "iterative x2 U-Net encoder-decoder, shared weights across steps; x2/x4/x8 (no x3)")
    generators.register("encdec_resize", encdec.create_resize,
                        "encdec with a resize-convolution x2 stage (nearest + conv) instead of pixel shuffle")


@hookimpl
def srbench_register_discriminators(discriminators):
    discriminators.register("srgan", srgan_discriminator.create,
                            "SRGAN discriminator: strided conv-BN blocks, pooled dense head; (B,) logits")
    discriminators.register("patchgan", patchgan.create,
                            "pix2pix PatchGAN: one logit per receptive-field patch; (B, 1, H', W') logits")
    discriminators.register("unet", unet_discriminator.create,
                            "Real-ESRGAN U-Net discriminator with spectral norm; per-pixel (B, 1, H, W) logits")
