"""course.models: exact published parameter counts, output shapes, clear errors.

Counting builds the networks on PyTorch's meta device (shapes, no memory);
forward passes use one or two small inputs under ``torch.no_grad()``.
"""

import pytest
import torch

from course import models
from course.models import count_parameters, parameter_table


def build_on_meta(builder, *args):
    with torch.device("meta"):
        return builder(*args)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)


# --- LeNet-5 ---------------------------------------------------------------


def test_lenet5_1998_has_exactly_60_000_trainable_parameters():
    net = build_on_meta(models.lenet5, "1998")
    assert count_parameters(net) == 60_000


def test_lenet5_1998_per_layer_counts_add_up_to_60_000():
    net = build_on_meta(models.lenet5, "1998")
    counts = {row.name: row.params for row in parameter_table(net)}
    assert counts == {
        "c1": 6 * (5 * 5 + 1),
        "s2": 6 * 2,
        "c3": (6 * 3 + 9 * 4 + 1 * 6) * 25 + 16,
        "s4": 16 * 2,
        "c5": 120 * (16 * 25 + 1),
        "f6": 84 * (120 + 1),
        "output": 0,
    }
    assert counts["c3"] == 1_516
    assert sum(counts.values()) == 60_000


def test_lenet5_1998_rbf_centres_are_fixed_buffers_not_parameters():
    net = models.lenet5("1998")
    assert net.output.centres.shape == (10, 84)
    assert set(net.output.centres.unique().tolist()) == {-1.0, 1.0}
    assert count_parameters(net, trainable_only=False) == 60_000


def test_lenet5_c3_table_matches_table_one_of_the_paper():
    sizes = [len(inputs) for inputs in models.LENET5_C3_TABLE]
    assert sizes == [3] * 6 + [4] * 9 + [6]
    # Row 0 of Table I: S2 map 0 feeds these C3 maps.
    feeds_0 = [j for j, inputs in enumerate(models.LENET5_C3_TABLE) if 0 in inputs]
    assert feeds_0 == [0, 4, 5, 6, 9, 10, 11, 12, 14, 15]


def test_lenet5_1998_sparse_c3_ignores_unconnected_input_maps():
    c3 = models.lenet5("1998").c3
    x = torch.randn(1, 6, 14, 14)
    x_changed = x.clone()
    x_changed[:, 5] += 1.0  # S2 map 5 feeds neither C3 map 0 nor map 1
    with torch.no_grad():
        out, out_changed = c3(x), c3(x_changed)
    assert torch.equal(out[:, :2], out_changed[:, :2])
    assert not torch.allclose(out[:, 3], out_changed[:, 3])


def test_lenet5_modern_has_61_706_parameters():
    assert count_parameters(build_on_meta(models.lenet5, "modern")) == 61_706


@pytest.mark.parametrize("variant", ["1998", "modern"])
@pytest.mark.parametrize("size", [32, 28])
def test_lenet5_maps_a_batch_of_digits_to_10_scores(variant, size):
    net = models.lenet5(variant)
    with torch.no_grad():
        out = net(torch.randn(2, 1, size, size))
    assert out.shape == (2, 10)


def test_lenet5_1998_trains_end_to_end():
    net = models.lenet5("1998")
    loss = torch.nn.functional.cross_entropy(
        net(torch.randn(4, 1, 32, 32)), torch.tensor([0, 1, 2, 3])
    )
    loss.backward()
    assert net.c3.weight.grad is not None and net.s2.weight.grad is not None


def test_lenet5_rejects_wrong_input_shape_with_expected_shape():
    net = models.lenet5()
    with pytest.raises(ValueError, match=r"LeNet-5 expects \(N, 1, 32, 32\)"):
        net(torch.zeros(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"got \(1, 1, 30, 30\)"):
        net(torch.zeros(1, 1, 30, 30))


def test_lenet5_unknown_variant_lists_valid_ones():
    with pytest.raises(ValueError, match=r"'1989'.*'1998', 'modern'"):
        models.lenet5("1989")


# --- AlexNet ---------------------------------------------------------------


def test_alexnet_original_has_60_965_224_parameters():
    assert count_parameters(build_on_meta(models.alexnet, "original")) == 60_965_224


def test_alexnet_original_per_layer_counts_are_the_two_gpu_figures():
    net = build_on_meta(models.alexnet, "original")
    counts = [row.params for row in parameter_table(net)]
    assert counts == [
        34_944,
        307_456,
        885_120,
        663_936,
        442_624,
        37_752_832,
        16_781_312,
        4_097_000,
    ]
    conv = net.features
    assert [conv.conv2.groups, conv.conv3.groups, conv.conv4.groups] == [2, 1, 2]
    assert conv.conv5.groups == 2


def test_alexnet_torchvision_variant_has_61_100_840_parameters():
    net = build_on_meta(models.alexnet, "torchvision")
    assert count_parameters(net) == 61_100_840


def test_alexnet_original_maps_a_227_image_to_1000_logits_via_256x6x6():
    net = build_on_meta(models.alexnet, "original").eval()
    rows = parameter_table(net, input_shape=(3, 227, 227))
    shapes = {row.name: row.out_shape for row in rows}
    assert shapes["features.conv5"] == (256, 13, 13)
    assert shapes["classifier.fc6"] == (4096,)
    assert shapes["classifier.fc8"] == (1000,)


def test_alexnet_original_rejects_224_input_and_names_227():
    net = build_on_meta(models.alexnet, "original")
    with pytest.raises(ValueError, match=r"expects \(N, 3, 227, 227\)"):
        net(torch.zeros(1, 3, 224, 224, device="meta"))


def test_alexnet_unknown_variant_lists_valid_ones():
    with pytest.raises(ValueError, match="'original', 'torchvision'"):
        models.alexnet("caffe")


# --- VGG -------------------------------------------------------------------

VGG_EXPECTED = {
    "A": (132_863_336, 11, 133),
    "A-LRN": (132_863_336, 11, 133),
    "B": (133_047_848, 13, 133),
    "C": (133_638_952, 16, 134),
    "D": (138_357_544, 16, 138),
    "E": (143_667_240, 19, 144),
}


@pytest.mark.parametrize("config", list(VGG_EXPECTED))
def test_vgg_configs_have_published_parameters_and_weight_layers(config):
    exact, weight_layers, millions = VGG_EXPECTED[config]
    net = build_on_meta(models.vgg, config)
    assert count_parameters(net) == exact
    assert net.num_weight_layers == weight_layers
    assert round(exact / 1e6) == millions


def test_vgg_c_is_the_only_config_with_1x1_convolutions():
    with_1x1 = [
        name
        for name, layers in models.VGG_CONFIGS.items()
        if any(entry.startswith("conv1-") for entry in layers)
    ]
    assert with_1x1 == ["C"]
    assert sum(e.startswith("conv1-") for e in models.VGG_CONFIGS["C"]) == 3


def test_vgg_a_lrn_differs_from_a_only_by_the_lrn_layer():
    with_lrn = list(models.VGG_CONFIGS["A-LRN"])
    with_lrn.remove("LRN")
    assert with_lrn == models.VGG_CONFIGS["A"]


def test_vgg_a_computes_finite_logits_on_a_real_image_tensor():
    net = models.vgg("A").eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 32, 32))  # adaptive pooling lets 32x32 through
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


def test_vgg_unknown_config_lists_valid_ones():
    with pytest.raises(ValueError, match="'A', 'A-LRN', 'B', 'C', 'D', 'E'"):
        models.vgg("F")


# --- GoogLeNet and ResNet --------------------------------------------------


def test_googlenet_matches_torchvision_port_with_6_624_904_parameters():
    assert count_parameters(build_on_meta(models.googlenet)) == 6_624_904


def test_resnet18_has_11_689_512_parameters():
    assert count_parameters(build_on_meta(models.resnet18)) == 11_689_512


def test_resnet50_has_25_557_032_parameters():
    assert count_parameters(build_on_meta(models.resnet50)) == 25_557_032


@pytest.mark.parametrize(
    "builder, args, size",
    [
        (models.alexnet, ("original",), 227),
        (models.alexnet, ("torchvision",), 224),
        (models.vgg, ("A-LRN",), 224),
        (models.vgg, ("E",), 224),
        (models.googlenet, (), 224),
        (models.resnet18, (), 224),
        (models.resnet50, (), 224),
    ],
    ids=["alexnet", "alexnet-tv", "vgg-A-LRN", "vgg-E", "googlenet", "resnet18",
         "resnet50"],
)
def test_imagenet_networks_map_a_batch_of_images_to_1000_logits(builder, args, size):
    net = build_on_meta(builder, *args).eval()  # shapes only, no arithmetic
    out = net(torch.zeros(2, 3, size, size, device="meta"))
    assert out.shape == (2, 1000)


@pytest.mark.parametrize(
    "builder", [models.googlenet, models.resnet18, models.resnet50]
)
def test_googlenet_and_resnets_compute_finite_logits(builder):
    net = builder().eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()


def test_resnet50_ends_in_2048_channels_before_the_classifier():
    net = build_on_meta(models.resnet50)
    assert net.fc.in_features == 2048


def test_resnet_rejects_a_grey_image():
    with pytest.raises(ValueError, match=r"ResNet-18 expects \(N, 3, H, W\)"):
        models.resnet18()(torch.zeros(1, 1, 224, 224))


# --- AlphaGo policy network ------------------------------------------------


def alphago_parameters_by_hand(k):
    layer1 = k * (48 * 5 * 5) + k
    layers_2_to_12 = 11 * (k * k * 3 * 3 + k)
    layer13 = k * 1 * 1 + 19 * 19  # one 1x1 filter, a bias per position
    return layer1 + layers_2_to_12 + layer13


@pytest.mark.parametrize(
    "k, expected",
    [(128, 1_777_641), (192, 3_882_793), (256, 6_798_953), (384, 15_064_297)],
)
def test_alphago_policy_parameter_count_follows_the_formula(k, expected):
    net = build_on_meta(models.alphago_policy, k)
    assert count_parameters(net) == alphago_parameters_by_hand(k) == expected
    assert expected == 99 * k * k + 1213 * k + 361


def test_alphago_policy_has_13_layers_and_no_pooling():
    net = build_on_meta(models.alphago_policy, 192)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5)] + [(3, 3)] * 11 + [(1, 1)]
    assert [c.padding for c in convs] == [(2, 2)] + [(1, 1)] * 11 + [(0, 0)]
    assert not any("Pool" in type(m).__name__ for m in net.modules())


def test_alphago_policy_has_a_separate_bias_for_each_of_361_positions():
    net = models.alphago_policy(k=8)
    assert net.position_bias.numel() == 361 and net.position_bias.requires_grad
    assert net.head.bias is None
    with torch.no_grad():
        net.position_bias[0, 3, 4] = 50.0
        probs = net(torch.zeros(1, 48, 19, 19))
    assert probs.argmax().item() == 3 * 19 + 4


def test_alphago_policy_outputs_probabilities_over_361_moves():
    net = models.alphago_policy(k=16)
    with torch.no_grad():
        probs = net(torch.rand(2, 48, 19, 19))
    assert probs.shape == (2, 361)
    assert (probs >= 0).all()
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(2))


def test_alphago_policy_rejects_wrong_planes_with_expected_shape():
    net = models.alphago_policy(k=8)
    with pytest.raises(ValueError, match=r"expects \(N, 48, 19, 19\) input"):
        net(torch.zeros(1, 17, 19, 19))


def test_alphago_policy_rejects_non_positive_k():
    with pytest.raises(ValueError, match="positive integer"):
        models.alphago_policy(0)


# --- Helpers and the published table ---------------------------------------


def test_count_parameters_can_include_frozen_parameters():
    net = torch.nn.Linear(3, 2)
    net.bias.requires_grad_(False)
    assert count_parameters(net) == 6
    assert count_parameters(net, trainable_only=False) == 8


def test_parameter_table_rows_add_up_to_the_total():
    net = build_on_meta(models.resnet18)
    assert sum(row.params for row in parameter_table(net)) == 11_689_512


def test_published_table_holds_the_slides_figures_in_millions():
    millions = {
        name: entry.params / 1e6 for name, entry in models.PUBLISHED_PARAMETERS.items()
    }
    assert millions == {
        "LeNet-5": 0.06,
        "AlexNet": 60.965224,
        "VGG-16": 138,
        "Inception-v1 (GoogLeNet)": 6,
        "ResNet-50": 25,
        "BERT-base": 110,
        "BERT-large": 340,
        "GPT-3": 175_000,
        "EfficientNet-B0": 5.3,
        "EfficientNet-B7": 66,
    }


def test_models_never_ask_for_cuda():
    source = open(models.__file__, encoding="utf-8").read()
    assert ".cuda(" not in source
