"""Pretend submissions for ps4_convolution that pass the visible tests but are wrong.

Each case replaces one answer cell of the released notebook (the others keep
the reference solution) with code a student might write to get past the
visible checks; ``loses`` names the test cells whose hidden tests must catch
it. Forward passes keep the reference's cache ``(x, w, b, stride, pad)`` or
``(x, size, stride)``, so the backward tests, which take their cache from the
forward pass, still see a correct one. The pipeline test grades them all in
one nbgrader run.
"""

from tests.submissions import Case

SIZE_FIT_IGNORES_PADDING = '''
def conv_output_size(H, K, stride, pad):
    if K < 1 or stride < 1 or pad < 0:
        raise ValueError("sizes must be positive")
    if K > H:                           # forgets that padding makes room
        raise ValueError(f"a kernel of {K} does not fit in {H}")
    return (H + 2 * pad - K) // stride + 1
'''

SIZE_NO_STRIDE_CHECK = '''
def conv_output_size(H, K, stride, pad):
    if K > H + 2 * pad:
        raise ValueError(f"a kernel of {K} does not fit in {H} padded by {pad}")
    return (H + 2 * pad - K) // stride + 1   # stride 0: ZeroDivisionError
'''

# The loop body of a correct convolution; {rows}, {cols}, {kernel} and {pad}
# are where the wrong versions differ.
_CONV_TEMPLATE = '''
def conv2d_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho = (H + 2 * pad - HH) // stride + 1
    Wo = (W + 2 * pad - WW) // stride + 1
{pad}
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[n, :, {rows}, {cols}]
                    kernel = {kernel}
                    out[n, f, i, j] = np.sum(patch * kernel) + b[f]
    return out, (x, w, b, stride, pad)
'''
_PAD = "    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))"
_ROWS = "i * stride:i * stride + HH"
_COLS = "j * stride:j * stride + WW"

CONV_FLIPS_KERNEL = _CONV_TEMPLATE.format(
    pad=_PAD, rows=_ROWS, cols=_COLS,
    kernel="w[f, :, ::-1, ::-1]  # textbook convolution: rotated by 180 degrees")

CONV_ROW_STRIDE = _CONV_TEMPLATE.format(
    pad=_PAD, rows="i:i + HH", cols=_COLS,  # the stride is applied to columns only
    kernel="w[f]")

CONV_PADS_ONE_SIDE = _CONV_TEMPLATE.format(
    pad="    xp = np.zeros((N, C, H + 2 * pad, W + 2 * pad))\n"
        "    xp[:, :, :H, :W] = x              # all the zeros end up below and right",
    rows=_ROWS, cols=_COLS, kernel="w[f]")

POOL_RESHAPE_TRICK = '''
def maxpool2d_forward(x, size, stride):
    # Non-overlapping blocks: right only when stride == size.
    N, C, H, W = x.shape
    Ho, Wo = H // size, W // size
    blocks = x[:, :, :Ho * size, :Wo * size].reshape(N, C, Ho, size, Wo, size)
    return blocks.max(axis=(3, 5)), (x, size, stride)
'''

POOL_GRAD_TO_ALL_TIES = '''
def maxpool2d_backward(dout, cache):
    x, size, stride = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            rows = slice(i * stride, i * stride + size)
            cols = slice(j * stride, j * stride + size)
            window = x[:, :, rows, cols]
            mask = window == window.max(axis=(2, 3), keepdims=True)  # every tied max
            dx[:, :, rows, cols] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
'''

POOL_GRAD_OVERWRITES = '''
def maxpool2d_backward(dout, cache):
    x, size, stride = cache
    N, C, Ho, Wo = dout.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * stride:i * stride + size,
                               j * stride:j * stride + size]
                    u, v = np.unravel_index(np.argmax(window), window.shape)
                    grad = np.zeros((size, size))
                    grad[u, v] = dout[n, c, i, j]
                    # "=" instead of "+=": overlapping windows overwrite each other
                    dx[n, c, i * stride:i * stride + size,
                       j * stride:j * stride + size] = grad
    return dx
'''

FLATTEN_SQUARE = '''
def flatten(x):
    N, C, H, _ = x.shape
    return x.reshape(N, C * H * H)      # assumes square maps
'''

_CONV_BACK_TEMPLATE = '''
def conv2d_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    r, c = {start}
                    dw[f] += dout[n, f, i, j] * xp[n, :, r:r + HH, c:c + WW]
                    dxp[n, :, r:r + HH, c:c + WW] += dout[n, f, i, j] * w[f]
    return {dx}, dw, db
'''

CONV_BACK_IGNORES_STRIDE = _CONV_BACK_TEMPLATE.format(
    start="i, j                # should be i * stride, j * stride",
    dx="dxp[:, :, pad:pad + H, pad:pad + W]")

CONV_BACK_KEEPS_PADDING = _CONV_BACK_TEMPLATE.format(
    start="i * stride, j * stride",
    dx="dxp")                                  # the padding border is not cut off

LENET_HARDCODED = '''
def lenet5_parameters(in_channels=1, image_size=32, num_classes=10):
    return [156, 2416, 48120, 10164, 850]   # the slide's numbers, for any input
'''

SIZE_STRICT_FIT = '''
def conv_output_size(H, K, stride, pad):
    if K < 1 or stride < 1 or pad < 0:
        raise ValueError("need K >= 1, stride >= 1 and pad >= 0")
    if K >= H + 2 * pad:                # off by one: a kernel as large as the input fits
        raise ValueError(f"a kernel of {K} does not fit in {H} padded by {pad}")
    return (H + 2 * pad - K) // stride + 1
'''

CONV_SQUARE_OUTPUT = _CONV_TEMPLATE.format(
    pad=_PAD + "\n    Wo = Ho                            # assumes square images and kernels",
    rows=_ROWS, cols=_COLS, kernel="w[f]")

POOL_WINDOW_IS_STRIDE = '''
def maxpool2d_forward(x, size, stride):
    N, C, H, W = x.shape
    Ho = (H - size) // stride + 1
    Wo = (W - size) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            # the window is stride wide, not size: right only when they are equal
            window = x[:, :, i * stride:(i + 1) * stride, j * stride:(j + 1) * stride]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, size, stride)
'''

FLATTEN_IN_PLACE = '''
def flatten(x):
    x.shape = (x.shape[0], -1)          # reshapes the caller's array in place
    return x
'''

CONV_BACK_DW_LAST_IMAGE = '''
def conv2d_backward(dout, cache):
    x, w, b, stride, pad = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, Ho, Wo = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(F):
            grad_f = np.zeros(w[f].shape)
            for i in range(Ho):
                for j in range(Wo):
                    r, c = i * stride, j * stride
                    grad_f += dout[n, f, i, j] * xp[n, :, r:r + HH, c:c + WW]
                    dxp[n, :, r:r + HH, c:c + WW] += dout[n, f, i, j] * w[f]
            dw[f] = grad_f              # "=": each image overwrites the one before
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db
'''

LENET_FLOAT_COUNTS = '''
def lenet5_parameters(in_channels=1, image_size=32, num_classes=10):
    size = image_size
    for _ in range(2):
        size = (size - 5 + 1) / 2      # "/" gives floats (and no floor)
    return [6 * (in_channels * 25 + 1), 16 * (6 * 25 + 1),
            16 * size * size * 120 + 120, 120 * 84 + 84, 84 * num_classes + num_classes]
'''

LENET_ONE_CHANNEL = '''
def lenet5_parameters(in_channels=1, image_size=32, num_classes=10):
    size = image_size
    for _ in range(2):
        size = conv_output_size(conv_output_size(size, 5, 1, 0), 2, 2, 0)
    return [6 * (1 * 5 * 5 + 1),          # in_channels forgotten
            16 * (6 * 5 * 5 + 1), 16 * size * size * 120 + 120, 120 * 84 + 84,
            84 * num_classes + num_classes]
'''

CASES = {
    "size_fit_ignores_padding": Case({"conv_output_size": SIZE_FIT_IGNORES_PADDING},
                                     loses={"test_conv_output_size"}),
    "size_no_stride_check": Case({"conv_output_size": SIZE_NO_STRIDE_CHECK},
                                 loses={"test_conv_output_size"}),
    # The slides' filters are symmetric under a 180-degree rotation.
    "conv_flips_kernel": Case({"conv2d_forward": CONV_FLIPS_KERNEL},
                              loses={"test_conv2d_slide_examples", "test_conv2d_forward"}),
    # On the slides' 6x6 image at stride 2 this happens to give the right maps.
    "conv_row_stride": Case({"conv2d_forward": CONV_ROW_STRIDE},
                            loses={"test_conv2d_slide_examples", "test_conv2d_forward"}),
    "conv_pads_one_side": Case({"conv2d_forward": CONV_PADS_ONE_SIDE},
                               loses={"test_conv2d_slide_examples", "test_conv2d_forward"}),
    "pool_reshape_trick": Case({"maxpool2d_forward": POOL_RESHAPE_TRICK},
                               loses={"test_maxpool2d_forward"}),
    "pool_grad_to_all_ties": Case({"maxpool2d_backward": POOL_GRAD_TO_ALL_TIES},
                                  loses={"test_maxpool2d_backward"}),
    "pool_grad_overwrites": Case({"maxpool2d_backward": POOL_GRAD_OVERWRITES},
                                 loses={"test_maxpool2d_backward"}),
    "flatten_square": Case({"flatten": FLATTEN_SQUARE}, loses={"test_flatten"}),
    "conv_back_ignores_stride": Case({"conv2d_backward": CONV_BACK_IGNORES_STRIDE},
                                     loses={"test_conv2d_backward"}),
    "conv_back_keeps_padding": Case({"conv2d_backward": CONV_BACK_KEEPS_PADDING},
                                    loses={"test_conv2d_backward"}),
    "lenet_hardcoded": Case({"lenet5_parameters": LENET_HARDCODED},
                            loses={"test_lenet5_parameters"}),
    # Every answer that sizes a layer with conv_output_size fails where a window
    # exactly as large as the (padded) input appears.
    "size_strict_fit": Case({"conv_output_size": SIZE_STRICT_FIT},
                            loses={"test_conv_output_size", "test_conv2d_forward",
                                   "test_maxpool2d_forward", "test_maxpool2d_backward",
                                   "test_conv2d_backward", "test_lenet5_parameters"}),
    # The visible tests use square images and kernels only; the backward test
    # takes its cache from this forward pass, which fails on non-square inputs.
    "conv_square_output": Case({"conv2d_forward": CONV_SQUARE_OUTPUT},
                               loses={"test_conv2d_forward", "test_conv2d_backward"}),
    "pool_window_is_stride": Case({"maxpool2d_forward": POOL_WINDOW_IS_STRIDE},
                                  loses={"test_maxpool2d_forward"}),
    "flatten_in_place": Case({"flatten": FLATTEN_IN_PLACE}, loses={"test_flatten"}),
    # The visible test has values for one image only.
    "conv_back_dw_last_image": Case({"conv2d_backward": CONV_BACK_DW_LAST_IMAGE},
                                    loses={"test_conv2d_backward"}),
    "lenet_float_counts": Case({"lenet5_parameters": LENET_FLOAT_COUNTS},
                               loses={"test_lenet5_parameters"}),
    "lenet_one_channel": Case({"lenet5_parameters": LENET_ONE_CHANNEL},
                              loses={"test_lenet5_parameters"}),
}
