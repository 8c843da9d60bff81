"""The historical architectures of lecture 7, as real PyTorch modules.

Each builder returns a plain ``torch.nn.Module`` (no torchvision) whose
parameter count is the published one, so a notebook can count, print, run
and train the networks the slides talk about:

==========================  ===========================  ====================
builder                     input (N, C, H, W)           parameters
==========================  ===========================  ====================
``lenet5("1998")``          (N, 1, 32, 32) or 28x28      60,000 trainable
``lenet5("modern")``        (N, 1, 32, 32) or 28x28      61,706
``alexnet("original")``     (N, 3, 227, 227)             60,965,224
``alexnet("torchvision")``  (N, 3, 224, 224)             61,100,840
``vgg("A")`` to ``"E"``     (N, 3, 224, 224)             132.9 M to 143.7 M
``googlenet()``             (N, 3, 224, 224)             6,624,904
``resnet18()``              (N, 3, 224, 224)             11,689,512
``resnet50()``              (N, 3, 224, 224)             25,557,032
``alphago_policy(k)``       (N, 48, 19, 19)              99k^2 + 1213k + 361
==========================  ===========================  ====================

The image classifiers return unnormalised class scores (logits) of shape
``(N, 10)`` or ``(N, 1000)``; ``AlphaGoPolicy`` returns move probabilities
``(N, 361)``. Shapes use N batch, C channels, H height, W width throughout.

Counting needs no memory: build under ``with torch.device("meta"):`` and the
parameters have shapes but no storage. ``count_parameters`` and
``parameter_table`` count; ``PUBLISHED_PARAMETERS`` holds the slides' table
of published sizes (including models not built here, such as BERT and GPT-3).

Nothing here picks a device: move a model with ``model.to(device)``.
"""

import math
from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "PUBLISHED_PARAMETERS",
    "VGG_CONFIGS",
    "LENET5_C3_TABLE",
    "AlphaGoPolicy",
    "count_parameters",
    "parameter_table",
    "lenet5",
    "alexnet",
    "vgg",
    "googlenet",
    "resnet18",
    "resnet50",
    "alphago_policy",
]


# --------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------


def count_parameters(model, trainable_only=True):
    """Number of scalar parameters of ``model``.

    With ``trainable_only`` (the default) only parameters with
    ``requires_grad`` count, as in the published figures; fixed constants
    kept as buffers (LeNet-5's RBF centres, BatchNorm running statistics)
    never count.
    """
    return sum(
        p.numel() for p in model.parameters() if p.requires_grad or not trainable_only
    )


class LayerRow(NamedTuple):
    """One row of ``parameter_table``."""

    name: str
    kind: str
    out_shape: tuple  # output shape without N, or None if no input was given
    params: int


def parameter_table(model, input_shape=None):
    """Per-layer parameter counts: a list of ``LayerRow(name, kind, out_shape,
    params)``.

    One row for every module that holds parameters or buffers itself, in
    definition order; ``params`` counts that module's own trainable
    parameters, so the rows add up to ``count_parameters(model)``. Given
    ``input_shape`` ``(C, H, W)``, one forward pass on zeros records each
    row's output shape ``(C', H', W')``; otherwise ``out_shape`` is None.
    """
    rows = OrderedDict()
    for name, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        if not own and not list(module.buffers(recurse=False)):
            continue
        params = sum(p.numel() for p in own if p.requires_grad)
        rows[name] = [name, type(module).__name__, None, params, module]
    if input_shape is not None:
        hooks = []
        for row in rows.values():

            def hook(module, inputs, output, row=row):
                row[2] = tuple(output.shape[1:])

            hooks.append(row[4].register_forward_hook(hook))
        param = next(model.parameters())
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                model(torch.zeros((1, *input_shape), device=param.device))
        finally:
            model.train(was_training)
            for handle in hooks:
                handle.remove()
    return [LayerRow(*row[:4]) for row in rows.values()]


def _check_input(x, model_name, channels, sizes=None, min_size=None):
    """Raise ValueError unless ``x`` is (N, channels, H, W) with (H, W) allowed.

    ``sizes`` lists the allowed square sizes; ``min_size`` allows any
    H, W >= min_size instead.
    """
    ok = x.dim() == 4 and x.shape[1] == channels
    if ok and sizes is not None:
        ok = x.shape[2] == x.shape[3] and x.shape[2] in sizes
    if ok and min_size is not None:
        ok = x.shape[2] >= min_size and x.shape[3] >= min_size
    if ok:
        return
    if sizes is not None:
        want = " or ".join(f"(N, {channels}, {s}, {s})" for s in sizes)
    else:
        want = f"(N, {channels}, H, W) with H, W >= {min_size}"
    raise ValueError(f"{model_name} expects {want} input, got {tuple(x.shape)}")


def _unknown(what, name, valid):
    return ValueError(
        f"unknown {what} {name!r}; valid: " + ", ".join(repr(v) for v in valid)
    )


# --------------------------------------------------------------------------
# LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998)
# --------------------------------------------------------------------------

# Table I of the paper: the S2 maps (0-5) that each C3 map (0-15) reads.
LENET5_C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5),
    (0, 1, 2, 5), (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class ScaledTanh(nn.Module):
    """LeNet-5's squashing function f(a) = 1.7159 tanh(2a / 3); any shape."""

    def forward(self, x):
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """Trainable subsampling (S2, S4): (N, C, H, W) -> (N, C, H/2, W/2).

    Each output unit is the sum of a 2x2 block times a trainable coefficient
    plus a trainable bias, one coefficient and one bias per map: 2C
    parameters. The squashing function is applied by the caller.
    """

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 0.25))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        block_sum = F.avg_pool2d(x, 2) * 4
        return block_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class SparseConv2d(nn.Module):
    """A convolution in which output map j reads only the input maps
    ``table[j]``: (N, C_in, H, W) -> (N, len(table), H-k+1, W-k+1).

    Only the connected kernels are parameters: ``weight`` has one k x k
    kernel per (output, input) pair in the table, plus one bias per output.
    """

    def __init__(self, in_channels, table, kernel_size):
        super().__init__()
        pairs = [(j, i) for j, inputs in enumerate(table) for i in inputs]
        self.in_channels = in_channels
        self.out_channels = len(table)
        self.kernel_size = kernel_size
        self.weight = nn.Parameter(torch.empty(len(pairs), kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(len(table)))
        self.register_buffer("pairs", torch.tensor(pairs), persistent=False)
        # PyTorch's default uniform bound 1/sqrt(fan_in), each map with its own
        # fan-in (uniform_ only, so that building on the meta device is free).
        with torch.no_grad():
            for row, (j, _) in enumerate(pairs):
                bound = 1.0 / math.sqrt(len(table[j]) * kernel_size**2)
                nn.init.uniform_(self.weight[row], -bound, bound)
            for j, inputs in enumerate(table):
                bound = 1.0 / math.sqrt(len(inputs) * kernel_size**2)
                nn.init.uniform_(self.bias[j : j + 1], -bound, bound)

    def forward(self, x):
        k = self.kernel_size
        dense = self.weight.new_zeros(self.out_channels, self.in_channels, k, k)
        dense = dense.index_put((self.pairs[:, 0], self.pairs[:, 1]), self.weight)
        return F.conv2d(x, dense, self.bias)


class RBFOutput(nn.Module):
    """Euclidean RBF output units with fixed centres: (N, D) -> (N, C).

    Unit i computes the penalty y_i = sum_j (x_j - w_ij)^2, the squared
    distance to its centre; the forward pass returns the scores -y_i, so
    the largest score wins and cross-entropy can be used on them. The
    centres are a fixed buffer (not trainable, not counted). The paper drew
    them by hand as 7x12 bitmaps of the characters (+1/-1 per pixel); here
    they are a fixed +1/-1 code drawn once from a seeded generator.
    """

    def __init__(self, in_features, num_classes, seed=0):
        super().__init__()
        generator = torch.Generator(device="cpu").manual_seed(seed)
        bits = torch.randint(
            0, 2, (num_classes, in_features), generator=generator, device="cpu"
        )
        self.register_buffer("centres", (bits * 2 - 1).float())

    def forward(self, x):
        return -((x.unsqueeze(1) - self.centres) ** 2).sum(dim=2)


class LeNet5(nn.Module):
    """LeNet-5 in one of two variants (see ``lenet5``).

    Input (N, 1, 32, 32); (N, 1, 28, 28) MNIST digits are zero-padded by 2
    pixels on each side first, as the paper did. Output (N, 10) scores.
    """

    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        if variant == "1998":
            self.c1 = nn.Conv2d(1, 6, 5)  # 32 -> 28
            self.s2 = Subsampling(6)  # 28 -> 14
            self.c3 = SparseConv2d(6, LENET5_C3_TABLE, 5)  # 14 -> 10
            self.s4 = Subsampling(16)  # 10 -> 5
            self.c5 = nn.Conv2d(16, 120, 5)  # 5 -> 1
            self.f6 = nn.Linear(120, 84)
            self.output = RBFOutput(84, 10)
            self.act = ScaledTanh()
        else:
            self.conv1 = nn.Conv2d(1, 6, 5)  # 32 -> 28, max pool -> 14
            self.conv2 = nn.Conv2d(6, 16, 5)  # 14 -> 10, max pool -> 5
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        _check_input(x, "LeNet-5", 1, sizes=(32, 28))
        if x.shape[-1] == 28:
            x = F.pad(x, (2, 2, 2, 2))
        if self.variant == "1998":
            f = self.act
            x = f(self.s2(f(self.c1(x))))
            x = f(self.s4(f(self.c3(x))))
            x = f(self.f6(f(self.c5(x)).flatten(1)))
            return self.output(x)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def lenet5(variant="modern"):
    """LeNet-5: (N, 1, 32, 32) or (N, 1, 28, 28) -> (N, 10) scores.

    ``"1998"``: the network as published by LeCun et al. (1998). Scaled tanh
    1.7159 tanh(2a/3) after every layer; S2 and S4 are trainable subsampling
    (2x2 sum times a coefficient plus a bias, per map); C3 uses the sparse
    connection table of the paper's Table I (``LENET5_C3_TABLE``: six maps
    read 3 S2 maps, nine read 4, one reads all 6). Its trainable
    parameters, layer by layer:

    - C1: 6 x (5*5 + 1) = 156
    - S2: 6 x 2 = 12
    - C3: (6*3 + 9*4 + 1*6) x 25 weights + 16 biases = 1,500 + 16 = 1,516
    - S4: 16 x 2 = 32
    - C5: 120 x (16*25 + 1) = 48,120
    - F6: 84 x (120 + 1) = 10,164

    156 + 12 + 1,516 + 32 + 48,120 + 10,164 = 60,000 exactly: the paper's
    "60,000 trainable parameters". The output layer does not count because
    its 10 x 84 = 840 RBF centres were fixed, not learned; they are a
    buffer here (``RBFOutput``). Had the output been a trainable
    ``Linear(84, 10)`` the total would be 60,850.

    ``"modern"``: the textbook variant: conv 6@5x5, ReLU, 2x2 max pool,
    conv 16@5x5 with all 6 input maps (dense C3), ReLU, max pool, then fully
    connected 400-120-84-10 with ReLU. 156 + 2,416 + 48,120 + 10,164 + 850 =
    61,706 parameters.
    """
    if variant not in ("1998", "modern"):
        raise _unknown("LeNet-5 variant", variant, ("1998", "modern"))
    return LeNet5(variant)


# --------------------------------------------------------------------------
# AlexNet (Krizhevsky, Sutskever and Hinton, 2012)
# --------------------------------------------------------------------------


class AlexNet(nn.Module):
    """AlexNet (see ``alexnet``): (N, 3, S, S) -> (N, 1000) logits."""

    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        relu = nn.ReLU
        if variant == "original":

            def lrn():
                return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)

            layers = [
                ("conv1", nn.Conv2d(3, 96, 11, stride=4)),  # 227 -> 55
                ("relu1", relu()),
                ("norm1", lrn()),
                ("pool1", nn.MaxPool2d(3, 2)),  # -> 27
                ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)),
                ("relu2", relu()),
                ("norm2", lrn()),
                ("pool2", nn.MaxPool2d(3, 2)),  # -> 13
                ("conv3", nn.Conv2d(256, 384, 3, padding=1)),
                ("relu3", relu()),
                ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)),
                ("relu4", relu()),
                ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)),
                ("relu5", relu()),
                ("pool5", nn.MaxPool2d(3, 2)),  # -> 6
            ]
        else:
            layers = [
                ("conv1", nn.Conv2d(3, 64, 11, stride=4, padding=2)),  # 224 -> 55
                ("relu1", relu()),
                ("pool1", nn.MaxPool2d(3, 2)),  # -> 27
                ("conv2", nn.Conv2d(64, 192, 5, padding=2)),
                ("relu2", relu()),
                ("pool2", nn.MaxPool2d(3, 2)),  # -> 13
                ("conv3", nn.Conv2d(192, 384, 3, padding=1)),
                ("relu3", relu()),
                ("conv4", nn.Conv2d(384, 256, 3, padding=1)),
                ("relu4", relu()),
                ("conv5", nn.Conv2d(256, 256, 3, padding=1)),
                ("relu5", relu()),
                ("pool5", nn.MaxPool2d(3, 2)),  # -> 6
                ("avgpool", nn.AdaptiveAvgPool2d((6, 6))),
            ]
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("drop6", nn.Dropout(0.5)),
                    ("fc6", nn.Linear(256 * 6 * 6, 4096)),
                    ("relu6", relu()),
                    ("drop7", nn.Dropout(0.5)),
                    ("fc7", nn.Linear(4096, 4096)),
                    ("relu7", relu()),
                    ("fc8", nn.Linear(4096, 1000)),
                ]
            )
        )

    def forward(self, x):
        if self.variant == "original":
            _check_input(x, "AlexNet (original)", 3, sizes=(227,))
        else:
            _check_input(x, "AlexNet (torchvision)", 3, min_size=63)
        return self.classifier(self.features(x).flatten(1))


def alexnet(variant="original"):
    """AlexNet: (N, 3, 227, 227) ("original") or (N, 3, 224, 224)
    ("torchvision") -> (N, 1000) logits.

    ``"original"``: the 2012 network trained on two GPUs. Channels
    96-256-384-384-256; conv2, conv4 and conv5 only see the half of the
    previous layer on their own GPU, which is a convolution with
    ``groups=2``; local response normalisation after conv1 and conv2;
    fully connected 9216-4096-4096-1000 with dropout. Parameters:

    - conv1: 96 x (11*11*3 + 1) = 34,944
    - conv2: 256 x (5*5*48 + 1) = 307,456 (grouped: each filter sees 48 maps)
    - conv3: 384 x (3*3*256 + 1) = 885,120 (crosses the GPUs)
    - conv4: 384 x (3*3*192 + 1) = 663,936 (grouped)
    - conv5: 256 x (3*3*192 + 1) = 442,624 (grouped)
    - fc6: 4096 x (256*6*6 + 1) = 37,752,832
    - fc7: 4096 x (4096 + 1) = 16,781,312
    - fc8: 1000 x (4096 + 1) = 4,097,000

    Total 60,965,224: the exact figure in the slides. Input 227x227 makes
    the arithmetic work ((227 - 11)/4 + 1 = 55); the paper's "224" does not.

    ``"torchvision"``: the single-stream variant of torchvision's
    ``alexnet`` (from Krizhevsky's 2014 "one weird trick" paper): channels
    64-192-384-256-256, no groups, no LRN, adaptive average pooling to
    6x6. 61,100,840 parameters.
    """
    if variant not in ("original", "torchvision"):
        raise _unknown("AlexNet variant", variant, ("original", "torchvision"))
    return AlexNet(variant)


# --------------------------------------------------------------------------
# VGG (Simonyan and Zisserman, 2014)
# --------------------------------------------------------------------------

# Table 1 of the paper, one column per configuration, in the paper's words:
# "convK-C" is a KxK convolution with C output channels (stride 1, padding
# keeps the size), "maxpool" a 2x2 max pool with stride 2, "LRN" a local
# response normalisation. C is the one configuration with 1x1 convolutions.
VGG_CONFIGS = {
    "A": [
        "conv3-64", "maxpool",
        "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ],
    "A-LRN": [
        "conv3-64", "LRN", "maxpool",
        "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ],
    "B": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ],
    "C": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv1-256", "maxpool",
        "conv3-512", "conv3-512", "conv1-512", "maxpool",
        "conv3-512", "conv3-512", "conv1-512", "maxpool",
    ],
    "D": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "maxpool",
    ],
    "E": [
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
    ],
}  # fmt: skip


class VGG(nn.Module):
    """VGG (see ``vgg``): (N, 3, 224, 224) -> (N, 1000) logits."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        layers, channels = [], 3
        for entry in VGG_CONFIGS[config]:
            if entry == "maxpool":
                layers.append(nn.MaxPool2d(2, 2))
            elif entry == "LRN":
                layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75))
            else:
                kernel, out = (int(n) for n in entry[len("conv") :].split("-"))
                layers.append(nn.Conv2d(channels, out, kernel, padding=kernel // 2))
                layers.append(nn.ReLU())
                channels = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 1000),
        )

    @property
    def num_weight_layers(self):
        """Convolutional plus fully connected layers: 11, 11, 13, 16, 16, 19."""
        weighted = (nn.Conv2d, nn.Linear)
        return sum(isinstance(m, weighted) for m in self.modules())

    def forward(self, x):
        _check_input(x, f"VGG-{self.config}", 3, min_size=32)
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def vgg(config="D"):
    """VGG configuration ``"A"``, ``"A-LRN"``, ``"B"``, ``"C"``, ``"D"`` or
    ``"E"``: (N, 3, 224, 224) -> (N, 1000) logits.

    Built from ``VGG_CONFIGS`` (the paper's Table 1): 3x3 convolutions with
    padding 1 (and C's 1x1 convolutions), ReLU, five 2x2 max pools, then
    fully connected 25088-4096-4096-1000 with ReLU and dropout; softmax is
    left to the loss. An adaptive average pool to 7x7 (as in torchvision)
    lets smaller inputs through; at 224x224 it does nothing. Parameters:

    ====== ============= ===============
    config weight layers parameters
    ====== ============= ===============
    A      11            132,863,336
    A-LRN  11            132,863,336
    B      13            133,047,848
    C      16            133,638,952
    D      16            138,357,544 (VGG-16)
    E      19            143,667,240 (VGG-19)
    ====== ============= ===============

    Rounded to millions: 133, 133, 133, 134, 138, 144 (the paper's Table 2).
    """
    if config not in VGG_CONFIGS:
        raise _unknown("VGG config", config, VGG_CONFIGS)
    return VGG(config)


# --------------------------------------------------------------------------
# GoogLeNet / Inception-v1 (Szegedy et al., 2014), as ported by torchvision
# --------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    """Conv (no bias) + BatchNorm(eps=0.001) + ReLU: (N, C_in, H, W) ->
    (N, C_out, H', W')."""

    def __init__(self, in_channels, out_channels, **conv_args):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **conv_args)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated along channels:
    (N, C_in, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).

    1x1; 1x1 then 3x3; 1x1 then "5x5" (a 3x3 in torchvision's port, see
    ``googlenet``); 3x3 max pool then 1x1.
    """

    def __init__(self, in_ch, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_ch, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            BasicConv2d(in_ch, ch3x3red, kernel_size=1),
            BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            BasicConv2d(in_ch, ch5x5red, kernel_size=1),
            BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(in_ch, pool_proj, kernel_size=1),
        )

    def forward(self, x):
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class GoogLeNet(nn.Module):
    """GoogLeNet (see ``googlenet``): (N, 3, 224, 224) -> (N, 1000) logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x):
        _check_input(x, "GoogLeNet", 3, min_size=32)
        for name, module in self.named_children():
            if name == "fc":
                x = x.flatten(1)
            x = module(x)
        return x


def googlenet():
    """GoogLeNet / Inception-v1 as in torchvision: (N, 3, 224, 224) ->
    (N, 1000) logits; 6,624,904 parameters.

    Layer for layer torchvision's ``googlenet`` without the two auxiliary
    classifiers (which are used only in training). Where that port differs
    from the 2014 paper: every convolution is followed by batch
    normalisation (eps 0.001) and has no bias (BN came a year later); the
    "5x5" branch of each Inception block uses a 3x3 kernel (a known slip in
    the port, kept for its pretrained weights); there is no local response
    normalisation; the dropout before the classifier is 0.2, not 0.4.
    """
    return GoogLeNet()


# --------------------------------------------------------------------------
# ResNet (He, Zhang, Ren and Sun, 2015), as in torchvision
# --------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """Two 3x3 convs with BN and an identity (or 1x1 projection) shortcut:
    y = ReLU(F(x) + x); (N, C_in, H, W) -> (N, C, H/stride, W/stride)."""

    expansion = 1

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = _shortcut(in_channels, channels, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce), 3x3, 1x1 (expand by 4), each with BN, plus a shortcut:
    (N, C_in, H, W) -> (N, 4C, H/stride, W/stride)."""

    expansion = 4

    def __init__(self, in_channels, channels, stride=1):
        super().__init__()
        out_channels = channels * self.expansion
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = _shortcut(in_channels, out_channels, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


def _shortcut(in_channels, out_channels, stride):
    """None (identity) when shapes agree, else a 1x1 conv + BN projection."""
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class ResNet(nn.Module):
    """ResNet (see ``resnet18``, ``resnet50``): (N, 3, 224, 224) ->
    (N, 1000) logits."""

    def __init__(self, block, blocks_per_stage, name):
        super().__init__()
        self.name = name
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, in_channels = [], 64
        for i, num_blocks in enumerate(blocks_per_stage):
            channels = 64 * 2**i
            blocks = []
            for j in range(num_blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(in_channels, channels, stride))
                in_channels = channels * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_channels, 1000)

    def forward(self, x):
        _check_input(x, self.name, 3, min_size=32)
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18():
    """ResNet-18 as in torchvision: BasicBlocks [2, 2, 2, 2], BatchNorm,
    1000 classes; (N, 3, 224, 224) -> (N, 1000) logits; 11,689,512
    parameters."""
    return ResNet(BasicBlock, (2, 2, 2, 2), "ResNet-18")


def resnet50():
    """ResNet-50 as in torchvision: Bottlenecks [3, 4, 6, 3] (stride on the
    3x3 conv), BatchNorm, 1000 classes; (N, 3, 224, 224) -> (N, 1000)
    logits; 25,557,032 parameters."""
    return ResNet(Bottleneck, (3, 4, 6, 3), "ResNet-50")


# --------------------------------------------------------------------------
# AlphaGo's policy network (Silver et al., 2016)
# --------------------------------------------------------------------------


class AlphaGoPolicy(nn.Module):
    """AlphaGo's policy network (see ``alphago_policy``):
    (N, 48, 19, 19) -> (N, 361) move probabilities."""

    def __init__(self, k=192):
        super().__init__()
        self.k = k
        # Layer 1: zero-pad 19 -> 23, k 5x5 filters -> 19x19.
        layers = [nn.Conv2d(48, k, 5, padding=2), nn.ReLU()]
        # Layers 2-12: zero-pad 19 -> 21, k 3x3 filters -> 19x19.
        for _ in range(11):
            layers += [nn.Conv2d(k, k, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        # Layer 13: one 1x1 filter, then a separate bias for each position.
        self.head = nn.Conv2d(k, 1, 1, bias=False)
        self.position_bias = nn.Parameter(torch.zeros(1, 19, 19))

    def logits(self, x):
        """(N, 48, 19, 19) -> (N, 361) scores before the softmax; use these
        with ``F.cross_entropy`` to train."""
        _check_input(x, "AlphaGo policy network", 48, sizes=(19,))
        scores = self.head(self.body(x)) + self.position_bias
        return scores.flatten(1)

    def forward(self, x):
        """(N, 48, 19, 19) -> (N, 361) probabilities, each row summing to 1;
        move m is row m // 19, column m % 19 of the board."""
        return torch.softmax(self.logits(x), dim=1)


def alphago_policy(k=192):
    """AlphaGo's policy network with k filters per hidden layer:
    (N, 48, 19, 19) feature planes -> (N, 361) move probabilities.

    As described in Silver et al. (2016): layer 1 zero-pads the 19x19 input
    to 23x23 and applies k 5x5 filters (stride 1) and ReLU; layers 2-12
    zero-pad to 21x21 and apply k 3x3 filters and ReLU; layer 13 applies one
    1x1 filter with a different bias for each of the 361 positions
    (``position_bias``, shape (1, 19, 19)), then a softmax. No pooling.
    ``forward`` returns probabilities; ``logits`` the scores before the
    softmax. Parameters:

    (48*25 + 1) k + 11 (9k^2 + k) + k + 361 = 99k^2 + 1213k + 361,

    that is 1,777,641 (k=128), 3,882,793 (k=192, the match version),
    6,798,953 (k=256) and 15,064,297 (k=384).
    """
    if not (isinstance(k, int) and k > 0):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return AlphaGoPolicy(k)


# --------------------------------------------------------------------------
# Published sizes (the slides' table)
# --------------------------------------------------------------------------


class Published(NamedTuple):
    """A published parameter count, as the slides give it."""

    params: int
    year: int
    source: str
    note: str


PUBLISHED_PARAMETERS = {
    "LeNet-5": Published(
        60_000, 1998, "LeCun et al., Proc. IEEE 1998",
        "slides: 0.06 M; the 1998 network, trainable parameters; "
        "lenet5('1998') has exactly 60,000",
    ),
    "AlexNet": Published(
        60_965_224, 2012, "Krizhevsky et al., NeurIPS 2012",
        "slides: 60 M and exactly 60,965,224, the two-GPU original "
        "(alexnet('original')); torchvision's variant has 61,100,840",
    ),
    "VGG-16": Published(
        138_000_000, 2014, "Simonyan and Zisserman, ICLR 2015",
        "slides: 138 M; configuration D, vgg('D') has 138,357,544",
    ),
    "Inception-v1 (GoogLeNet)": Published(
        6_000_000, 2014, "Szegedy et al., CVPR 2015",
        "slides: 6 M; torchvision's port, googlenet(), has 6,624,904",
    ),
    "ResNet-50": Published(
        25_000_000, 2015, "He et al., CVPR 2016",
        "slides: 25 M; resnet50() (torchvision) has 25,557,032",
    ),
    "BERT-base": Published(
        110_000_000, 2018, "Devlin et al., NAACL 2019", "slides: 110 M; not built"
    ),
    "BERT-large": Published(
        340_000_000, 2018, "Devlin et al., NAACL 2019", "slides: 340 M; not built"
    ),
    "GPT-3": Published(
        175_000_000_000, 2020, "Brown et al., NeurIPS 2020",
        "175 billion = 175,000 M (the slides' table prints 1750); not built",
    ),
    "EfficientNet-B0": Published(
        5_300_000, 2019, "Tan and Le, ICML 2019", "slides: 5.3 M; not built"
    ),
    "EfficientNet-B7": Published(
        66_000_000, 2019, "Tan and Le, ICML 2019", "slides: 66 M; not built"
    ),
}  # fmt: skip
