"""torch.nn twins of resnext-webgpu's models, with the same state-dict names.

They mirror src/models/resnet.ts and src/models/index.ts: the ImageNet family keeps
torchvision's structure and names (so its checkpoints load into torchvision too), the
CIFAR ResNeXt-29 and the small 28x28 models use the same block with a 3x3/1 stem.
torchvision itself is not imported: its wheel does not load next to the torch we install.
Only the grouped-convolution form (c) exists here; forms (a) and (b) share its parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

EXPANSION = 4


@dataclass
class Stage:
    blocks: int
    planes: int  # the block's output is planes * 4 channels
    stride: int


@dataclass
class Spec:
    in_channels: int
    stem: str  # 'imagenet': 7x7/2 conv and 3x3/2 max pool; 'cifar': one 3x3/1 conv
    stem_channels: int
    stages: list[Stage]
    groups: int
    width_per_group: float
    num_classes: int


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (v1.5: the stride on the 3x3), registered in the same order."""

    def __init__(self, inplanes: int, planes: int, stride: int, groups: int, width_per_group: float) -> None:
        super().__init__()
        # Written as src/models/resnet.ts writes it, so that float widths round the same way.
        width = math.floor(planes * (width_per_group / 64)) * groups
        out = planes * EXPANSION
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = (
            nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))
            if stride != 1 or inplanes != out
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(h + identity)


class ResNet(nn.Module):
    def __init__(self, spec: Spec) -> None:
        super().__init__()
        imagenet = spec.stem == "imagenet"
        self.conv1 = nn.Conv2d(
            spec.in_channels,
            spec.stem_channels,
            7 if imagenet else 3,
            stride=2 if imagenet else 1,
            padding=3 if imagenet else 1,
            bias=False,
        )
        self.bn1 = nn.BatchNorm2d(spec.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if imagenet else None
        inplanes = spec.stem_channels
        for s, stage in enumerate(spec.stages):
            blocks = []
            for b in range(stage.blocks):
                stride = stage.stride if b == 0 else 1
                blocks.append(Bottleneck(inplanes, stage.planes, stride, spec.groups, spec.width_per_group))
                inplanes = stage.planes * EXPANSION
            self.add_module(f"layer{s + 1}", nn.Sequential(*blocks))
        self.n_stages = len(spec.stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inplanes, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            h = self.maxpool(h)
        for s in range(self.n_stages):
            h = getattr(self, f"layer{s + 1}")(h)
        return self.fc(torch.flatten(self.avgpool(h), 1))


def _imagenet(blocks: list[int], groups: int, width_per_group: int):
    stages = [Stage(n, 64 * 2**i, 1 if i == 0 else 2) for i, n in enumerate(blocks)]
    return lambda classes: Spec(3, "imagenet", 64, stages, groups, width_per_group, classes)


def _resnext29(groups: int, width_per_group: int):
    stages = [Stage(3, planes, 1 if i == 0 else 2) for i, planes in enumerate([64, 128, 256])]
    return lambda classes: Spec(3, "cifar", 64, stages, groups, width_per_group, classes)


def _small(cardinality: int, group_width: int):
    """smallResnext / smallResnet with SMALL_RESNEXT_SPEC's other fields."""
    channels, blocks = [64, 128, 256], [2, 2, 2]
    stages = [Stage(blocks[i], c // 4, 1 if i == 0 else 2) for i, c in enumerate(channels)]
    width_per_group = (group_width * 64) / (channels[0] / 4)
    return lambda classes: Spec(1, "cifar", 32, stages, cardinality, width_per_group, classes)


SPECS = {
    "resnet50": _imagenet([3, 4, 6, 3], 1, 64),
    "resnet101": _imagenet([3, 4, 23, 3], 1, 64),
    "resnext50_32x4d": _imagenet([3, 4, 6, 3], 32, 4),
    "resnext101_32x4d": _imagenet([3, 4, 23, 3], 32, 4),
    "resnext101_32x8d": _imagenet([3, 4, 23, 3], 32, 8),
    "resnext101_64x4d": _imagenet([3, 4, 23, 3], 64, 4),
    "resnext29_8x64d": _resnext29(8, 64),
    "resnext29_16x64d": _resnext29(16, 64),
    "small_resnext": _small(8, 4),
    "small_resnet": _small(1, 18),  # SMALL_TWIN_WIDTH
}


def create(name: str, num_classes: int) -> ResNet:
    if name not in SPECS:
        raise SystemExit(f"unknown model '{name}'; known: {', '.join(SPECS)}")
    return ResNet(SPECS[name](num_classes))
