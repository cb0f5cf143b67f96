"""Reference solutions of lab 4 (instructor edition only; never copied into labs/).

Each `# %% task: <id>` section replaces the notebook cell whose metadata names the same task;
`make instructor` does the merge. The header above the first section is only for the tests.
"""
# ruff: noqa: E731
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# %% task: lab04/conv_forward
def conv_forward(x, w, b, stride=1, pad=0):
    """Cross-correlation: x (N, C, H, W), w (F, C, kh, kw), b (F,) -> (N, F, Ho, Wo)."""
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, ho, wo), dtype=np.result_type(x, w, float))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            # (N, C, kh, kw) against (F, C, kh, kw): one number per example and filter
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None]

# %% task: lab04/conv_backward
def conv_backward(dout, x, w, b, stride=1, pad=0):
    """Gradients (dx, dw, db) of conv_forward, given dout (N, F, Ho, Wo)."""
    _, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]                                  # (N, F)
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))

# %% task: lab04/numerical_gradient
def numerical_gradient(f, x, dout, h=1e-5):
    """d sum(f(x) * dout) / dx by central differences, one entry of x at a time."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        kept = x[index]
        x[index] = kept + h
        up = np.sum(f(x) * dout)
        x[index] = kept - h
        down = np.sum(f(x) * dout)
        x[index] = kept
        grad[index] = (up - down) / (2 * h)
    return grad

# %% task: lab04/maxpool_forward
def maxpool_forward(x, size, stride):
    """Max pooling with a size = (height, width) window: (N, C, H, W) -> (N, C, Ho, Wo)."""
    ph, pw = size
    n, c, h, w = x.shape
    ho, wo = (h - ph) // stride + 1, (w - pw) // stride + 1
    out = np.empty((n, c, ho, wo), dtype=np.result_type(x, float))
    for i in range(ho):
        for j in range(wo):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out

# %% task: lab04/maxpool_backward
def maxpool_backward(dout, x, size, stride):
    """Gradient of maxpool_forward: each window's dout goes to the pixel that won it."""
    ph, pw = size
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * stride, i * stride + ph)
            cols = slice(j * stride, j * stride + pw)
            window = x[:, :, rows, cols]
            winner = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] += winner * dout[:, :, i, j][:, :, None, None]
    return dx

# %% task: lab04/residual_forward
def residual_forward(block, h):
    """relu(h + R(h)) for a ResidualBlock `block` and an input h of shape (N, C, H, W)."""
    r = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(h)))))
    return F.relu(h + r)

# %% task: lab04/shortcut_a
def shortcut_a(h, out_channels, stride=2):
    """Subsample h by `stride` and append zero channels up to `out_channels`."""
    kept = h[:, :, ::stride, ::stride]
    return F.pad(kept, (0, 0, 0, 0, 0, out_channels - h.shape[1]))

# %% task: lab04/counts
def cifar_depth(n):
    """Weighted layers of resnet_cifar with n blocks per stage."""
    return 6 * n + 2


def cifar_params(n, width=16, in_channels=3, num_classes=10):
    """Parameters of resnet_cifar(6n + 2, width, in_channels, num_classes), by formula."""
    conv = lambda a, b: 9 * a * b                   # 3x3, no bias
    total = conv(in_channels, width) + 2 * width    # the stem and its batch norm
    c_in = width
    for c in (width, 2 * width, 4 * width):
        total += conv(c_in, c) + (2 * n - 1) * conv(c, c) + 2 * n * 2 * c
        c_in = c
    return total + 4 * width * num_classes + num_classes

# %% task: lab04/evaluate
def evaluate_accuracy(model, batches):
    """Fraction of correctly classified examples over every (x, y) batch, in eval mode."""
    was_training = model.training
    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for x, y in batches:
            correct += int((model(x).argmax(dim=1) == y).sum())
            seen += len(y)
    model.train(was_training)
    return correct / seen

# %% task: lab04/build_net
def build_net():
    """The network of the specification table, for (N, 1, 8, 8) digits."""
    def unit(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                nn.ReLU()]
    return nn.Sequential(*unit(1, 16), nn.MaxPool2d(2), *unit(16, 32), *unit(32, 32),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
