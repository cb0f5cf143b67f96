"""Reference solutions of lab 3 (instructor edition only; never copied into labs/).

Each `# %% task: <id>` section replaces the notebook cell whose metadata names the same task.
"""
import numpy as np


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
