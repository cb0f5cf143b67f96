"""Reference solutions of lab 1 (instructor edition only; never copied into labs/).

Each `# %% task: <id>` section replaces the notebook cell whose metadata names the same task.
"""
import numpy as np

from cnnlab import ops

# %% task: lab01/first_two
# (8 + 9 + 9) - (1 + 0 + 2) = 23, then one column to the right: (9 + 9 + 7) - (0 + 2 + 1) = 22
my_first_two = (23, 22)      # (first output, second output)

# %% task: lab01/corr2d
def corr2d(image, kernel):
    """(H, W) image, (kh, kw) kernel -> (H - kh + 1, W - kw + 1) map."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))   # floats
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = np.sum(kernel * image[r:r + kh, c:c + kw])
    return out

# %% task: lab01/vertical
# the paper kernel turned by 90 degrees: columns -1, 0, +1 (dark to bright, left to right)
my_vertical = np.array([[-1, 0, 1],
                        [-1, 0, 1],
                        [-1, 0, 1]], dtype=float)

# %% task: lab01/blur
# a 3x3 Gaussian: the weights sum to 1, the centre counts most
my_blur = np.array([[1, 2, 1],
                    [2, 4, 2],
                    [1, 2, 1]], dtype=float) / 16

# %% task: lab01/diagonal
# +2 along the / diagonal, -1 beside it: the weights sum to 0
my_diagonal = np.array([[-1, -1, 2],
                        [-1, 2, -1],
                        [2, -1, -1]], dtype=float)

# %% task: lab01/edge_map
def edge_map(image):
    """Gradient magnitude of a grayscale image (H, W): an edge map."""
    sobel_x = np.outer([1, 2, 1], [-1, 0, 1]).astype(float)    # Sobel: columns -1, 0, +1
    gx = ops.conv2d(image[None, None], sobel_x[None, None])[0, 0]
    gy = ops.conv2d(image[None, None], sobel_x.T[None, None])[0, 0]
    return np.sqrt(gx ** 2 + gy ** 2)
