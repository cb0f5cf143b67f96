"""Reference solutions of lab 3 (instructor edition only; never copied into labs/).

Each `# %% task: <id>` section replaces the notebook cell whose metadata names the same task.
"""
import numpy as np
import torch


# %% task: lab03/unpool_window
def unpool_window(value, switch, top, left, width):
    block = np.zeros((2, 2))
    row, col = divmod(switch, width)          # the switch as (row, column) of the input map
    block[row - top, col - left] = value      # relative to the window's top-left pixel
    return block

# %% task: lab03/box
# c1 sees 5 pixels (jump 1); s2 makes it 5 + 1 = 6 (jump 2); c3 adds 4 x 2 = 8: 14 in all.
# Unit (r, c) of c3 starts at input pixel (2r, 2c): rows 6..19 and columns 10..23.
my_box = (2 * 3, 2 * 5, 2 * 3 + 14, 2 * 5 + 14)      # (top, left, bottom, right)

# %% task: lab03/guess
# The crossing of the 4, where its strokes meet, a little below the centre of the frame:
# without it the digit reads as a 1 or a 9.
my_guess = (16, 16)      # (row, col) of the centre of the square

# %% task: lab03/randomized_copy
import copy  # noqa: E402 (each section is pasted into its own notebook cell)


def randomized_copy(model, seed):
    fresh = copy.deepcopy(model)              # the trained network stays as it is
    torch.manual_seed(seed)                   # the seed decides every draw below
    for layer in fresh.modules():
        if hasattr(layer, "reset_parameters"):   # convolutions, linear and BatchNorm layers
            layer.reset_parameters()          # back to how PyTorch starts a new layer
    return fresh.eval()                       # BatchNorm uses its running statistics
