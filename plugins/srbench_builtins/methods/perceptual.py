"""Content losses of the supervised and few-HR methods: pixel losses and a VGG19 feature loss.

The VGG loss follows SRGAN (Ledig et al. 2017, "VGG54": feature maps of the 4th conv of the 5th
block, compared with a mean squared error) with the SRGAN report's change (III.1): features are
taken *before* the ReLU, so no signal is lost to the activation (ESRGAN does the same).

The ImageNet weights are read from disk, never downloaded: an explicit path, else torchvision's
own download location ``torch.hub.get_dir()/checkpoints/vgg19-dcbb9e9d.pth`` (honours
``$TORCH_HOME``). Only the convolutions up to the chosen layer are built and loaded, so a state
dict holding just those ``features.N.*`` tensors is enough.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from srbench.errors import UsageError

#: A pixel loss: ``loss(sr, hr) -> scalar``.
PixelLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
PixelLossName = Literal["mse", "l1"]

#: File name of torchvision's VGG19 ImageNet weights (``VGG19_Weights.IMAGENET1K_V1``).
VGG19_FILE = "vgg19-dcbb9e9d.pth"
#: Where torchvision downloads it from (shown in messages only; nothing is downloaded).
VGG19_URL = "https://download.pytorch.org/models/" + VGG19_FILE
#: VGG19 (configuration "E"): output channels of each conv, "M" = 2x2 max pooling.
VGG19_LAYOUT: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                                       512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
#: ImageNet normalisation torchvision's VGG expects on [0, 1] RGB input.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: SRGAN rescales VGG feature maps by 1/12.75 so the VGG loss is of the order of the pixel MSE.
FEATURE_SCALE = 1.0 / 12.75


def pixel_loss(name: str) -> PixelLoss:
    """``mse`` or ``l1`` between SR and HR, averaged over every element."""
    if name == "mse":
        return F.mse_loss
    if name == "l1":
        return F.l1_loss
    raise UsageError(f"invalid pixel loss {name!r}; accepted: mse, l1")


def vgg19_layer_names() -> list[str]:
    """Names of the layers of VGG19's ``features``, in order: ``conv1_1, relu1_1, conv1_2, ..., pool5``."""
    names: list[str] = []
    block, index = 1, 1
    for item in VGG19_LAYOUT:
        if item == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return names


def vgg19_features(layer: str) -> nn.Sequential:
    """VGG19's ``features`` truncated after ``layer`` (same indices as torchvision's, randomly initialised).

    :param layer: e.g. ``conv5_4`` (before its ReLU, the default of the SRGAN report) or ``relu5_4``.
    :raises UsageError: for an unknown layer name.
    """
    names = vgg19_layer_names()
    if layer not in names:
        raise UsageError(f"unknown VGG19 layer {layer!r}; accepted: {', '.join(names)}")
    last = names.index(layer)
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG19_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU()]
            channels = int(item)
        if len(layers) > last:
            break
    return nn.Sequential(*layers[: last + 1])


def vgg19_weights_path(explicit: str = "") -> Path:
    """Where the VGG19 weights are looked for: ``explicit`` if given, else the torch hub cache."""
    if explicit:
        return Path(explicit).expanduser()
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def vgg19_missing_reason(explicit: str = "") -> str | None:
    """``None`` when the weights file exists, else one line saying where it was expected."""
    path = vgg19_weights_path(explicit)
    if path.is_file():
        return None
    if explicit:
        return f"VGG19 weights file {path} (option vgg_weights) does not exist"
    return (f"VGG19 ImageNet weights not found at {path}; download {VGG19_URL} there "
            f"or set the method's vgg_weights option")


class VGGFeatureLoss(nn.Module):
    """MSE between VGG19 feature maps of SR and HR (``FEATURE_SCALE`` applied to the features).

    The network is frozen and stays in eval mode; inputs are ``[0, 1]`` RGB batches. It is not a
    trained part of the method: do not return it from ``Method.modules()`` (its weights come from
    the file, not from checkpoints).

    :param weights: path of a state dict with torchvision's VGG19 keys (``features.N.weight``).
    :param layer: the layer whose output is compared (``conv5_4``: pre-activation).
    :raises UsageError: when the file lacks a needed tensor or does not load.
    """

    def __init__(self, weights: Path, layer: str = "conv5_4") -> None:
        super().__init__()
        self.layer = layer
        self.features = vgg19_features(layer)
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
            raise UsageError(f"cannot load VGG19 weights {weights}: {type(exc).__name__}: {exc}") from None
        wanted = {f"features.{k}": v for k, v in self.features.state_dict().items()}
        missing = [k for k in wanted if k not in state]
        if missing:
            raise UsageError(f"VGG19 weights {weights} lack {missing[0]!r}; expected torchvision's vgg19 state dict")
        self.features.load_state_dict({k[len("features."):]: state[k] for k in wanted})
        self.features.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def train(self, mode: bool = True) -> "VGGFeatureLoss":
        return super().train(False)  # frozen feature extractor: never in training mode

    def feature_maps(self, images: torch.Tensor) -> torch.Tensor:
        """Scaled feature maps of ``images`` ``(B, 3, H, W)`` in ``[0, 1]``."""
        return self.features((images - self.mean) / self.std) * FEATURE_SCALE

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.feature_maps(hr)
        return F.mse_loss(self.feature_maps(sr), target)
