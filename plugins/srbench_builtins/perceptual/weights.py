"""Finding pretrained weights on disk, never downloading them.

The perceptual metrics need networks trained elsewhere (AlexNet on ImageNet for LPIPS, the
TensorFlow FID Inception for FID/KID). srbench must run offline and must never invent a score,
so a metric whose file is absent reports itself unavailable with one line saying which file,
where to put it and where the library would have downloaded it from.

Lookup order for each file: the metric's ``weights`` option, then an environment variable
(:data:`LPIPS_WEIGHTS_ENV`, :data:`INCEPTION_WEIGHTS_ENV`), then the torch hub cache
(``$TORCH_HOME/hub/checkpoints/<file name of the URL>``), which is exactly where torchvision
and torch-fidelity would have saved a download, so an existing cache is reused as is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch

#: Environment variable: path of torchvision's AlexNet ImageNet state dict (LPIPS trunk).
LPIPS_WEIGHTS_ENV = "SRBENCH_LPIPS_WEIGHTS"
#: Environment variable: path of torch-fidelity's FID Inception state dict.
INCEPTION_WEIGHTS_ENV = "SRBENCH_INCEPTION_WEIGHTS"
#: The ``source`` of a file found at its default place, where the libraries cache downloads.
HUB_CACHE = "torch hub cache"


@dataclass(frozen=True)
class WeightsFile:
    """Where a pretrained file is expected and how to obtain it.

    :param what: human description (``"LPIPS AlexNet ImageNet weights"``).
    :param path: where it was looked for.
    :param source: which setting chose ``path`` (an option, an env var, or the hub cache).
    :param url: where the library downloads it from, when known.
    :param hint: how to point srbench at another copy (option and env var names).
    """

    what: str
    path: Path
    source: str
    url: str = ""
    hint: str = ""

    def exists(self) -> bool:
        return self.path.is_file()

    def missing_reason(self) -> str | None:
        """``None`` when the file exists, else one line: what, where, how to get it."""
        if self.exists():
            return None
        if self.source == HUB_CACHE:
            hint = f", or {self.hint}" if self.hint else ""
            return f"{self.what} not found: {self.path} is missing; download {self.url} to that path{hint}"
        reason = f"{self.what}: file {self.path} (from {self.source}) does not exist"
        if self.url:
            return f"{reason}; download it from {self.url}"
        return f"{reason}; {self.hint}" if self.hint else reason


def hub_checkpoint_path(url: str) -> Path:
    """Where ``torch.hub.load_state_dict_from_url(url)`` stores its file (honours ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def locate(what: str, url: str, option_value: str, option_name: str, env_var: str) -> WeightsFile:
    """Resolve a weights file: explicit option, then ``env_var``, then the hub cache path of ``url``."""
    hint = f"set {env_var}=PATH or {option_name}=PATH to a local copy"
    if option_value:
        return WeightsFile(what, Path(option_value).expanduser(), f"option {option_name}", url, hint)
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return WeightsFile(what, Path(from_env).expanduser(), f"${env_var}", url, hint)
    return WeightsFile(what, hub_checkpoint_path(url), HUB_CACHE, url, hint)


def alexnet_url() -> str:
    """The URL torchvision downloads AlexNet's ImageNet weights from (``IMAGENET1K_V1``)."""
    from torchvision.models import AlexNet_Weights

    return AlexNet_Weights.IMAGENET1K_V1.url


def lpips_trunk_weights(option_value: str = "") -> WeightsFile:
    """torchvision's AlexNet ImageNet state dict, the LPIPS trunk (``alexnet-owt-7be5be79.pth``)."""
    return locate("LPIPS AlexNet ImageNet weights", alexnet_url(), option_value, "lpips.weights", LPIPS_WEIGHTS_ENV)


def lpips_linear_weights(net: str = "alex", version: str = "0.1") -> WeightsFile:
    """LPIPS's calibrated linear layers, shipped inside the ``lpips`` package (``weights/v0.1/alex.pth``)."""
    import lpips

    path = Path(lpips.__file__).resolve().parent / "weights" / f"v{version}" / f"{net}.pth"
    return WeightsFile(f"LPIPS v{version} linear-layer weights", path, "the installed lpips package",
                       hint="reinstall the package: pip install --force-reinstall lpips")


def inception_url() -> str:
    """The URL torch-fidelity downloads its FID Inception weights from."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return URL_INCEPTION_V3


def inception_weights(option_value: str, option_name: str) -> WeightsFile:
    """torch-fidelity's FID Inception state dict (``weights-inception-2015-12-05-6726825d.pth``)."""
    return locate("FID Inception-v3 weights", inception_url(), option_value, option_name, INCEPTION_WEIGHTS_ENV)
