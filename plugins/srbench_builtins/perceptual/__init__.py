"""Built-in perceptual metrics plugin: LPIPS per image, FID and KID per test set.

The networks they need are found on disk, never downloaded (:mod:`.weights`); ``lpips`` and
``torch_fidelity`` are imported only when a metric is used, so a missing or broken package
makes these metrics unavailable (with the reason) instead of breaking srbench.
"""

from srbench.hookspecs import hookimpl

from .fid import PatchFid
from .kid import PatchKid
from .lpips_metric import Lpips


@hookimpl
def srbench_register_metrics(metrics):
    metrics.register("lpips", Lpips, "LPIPS v0.1 (AlexNet) to HR, lower is better; needs AlexNet ImageNet weights")
    metrics.register("fid", PatchFid, "FID of aligned 64 px SR/HR patches (torch-fidelity Inception), set-level")
    metrics.register("kid", PatchKid, "KID of aligned 64 px SR/HR patches (torch-fidelity Inception), set-level")
