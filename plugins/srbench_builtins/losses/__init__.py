"""Built-in adversarial losses (subclasses of :class:`srbench.interfaces.AdversarialLoss`).

Every loss has a ``recommended_optimizer`` class attribute, ``(name, kwargs)`` from its paper;
build it with :func:`.common.create_optimizer`. Critic steps per generator step: ``n_critic``
(5 for ``wgan`` and ``wgan-gp``, 1 otherwise).
"""

from srbench.hookspecs import hookimpl

from .common import create_optimizer
from .hinge import HingeLoss
from .minimax import MinimaxLoss
from .nonsaturating import NonSaturatingLoss
from .relativistic import RelativisticAverageLoss
from .wgan import WGANLoss
from .wgan_gp import WGANGPLoss

__all__ = ["HingeLoss", "MinimaxLoss", "NonSaturatingLoss", "RelativisticAverageLoss", "WGANGPLoss", "WGANLoss",
           "create_optimizer"]


@hookimpl
def srbench_register_adversarial_losses(adversarial_losses):
    adversarial_losses.register("minimax", MinimaxLoss,
                                "original GAN minimax, saturating G loss log(1 - D(G(z))); real_label smoothing")
    adversarial_losses.register("nonsaturating", NonSaturatingLoss,
                                "non-saturating GAN loss (SRGAN): G minimises -log D(G(z)); real_label smoothing")
    adversarial_losses.register("wgan", WGANLoss,
                                "Wasserstein GAN, weight clipping 0.01, 5 critic steps, RMSProp 5e-5")
    adversarial_losses.register("wgan-gp", WGANGPLoss,
                                "WGAN with gradient penalty (lambda 10), 5 critic steps, Adam 1e-4 (0, 0.9)")
    adversarial_losses.register("hinge", HingeLoss, "hinge loss (SN-GAN, SAGAN): D relu(1 -+ logits), G -mean(fake)")
    adversarial_losses.register("relativistic", RelativisticAverageLoss,
                                "relativistic average GAN (ESRGAN): both players use real and fake logits")
