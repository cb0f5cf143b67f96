"""Reference solutions of lab 6 (instructor edition only; never copied into labs/).

Each `# %% task: <id>` section replaces the notebook cell whose metadata names the same task.
"""
import torch
import torch.nn.functional as F

# %% task: lab06/fgsm
def fgsm(model, x, y, eps):
    """Images x (N, 1, 32, 32) in [0, 1], labels y (N,) -> attacked images."""
    attacked = x.clone().requires_grad_(True)
    F.cross_entropy(model(attacked), y).backward()
    step = eps * attacked.grad.sign()
    return (attacked + step).clamp(0, 1).detach()

# %% task: lab06/smallest_flip
def smallest_flip(model, image, label, grid):
    """First eps in grid at which FGSM changes the prediction, else None."""
    for eps in grid:
        candidate = fgsm(model, image, label, eps)
        with torch.no_grad():
            read = model(candidate).argmax(1)
        if int(read[0]) != int(label[0]):
            return eps
    return None

# %% task: lab06/contrast
def contrast(x, factor):
    """Images x (N, 1, H, W) in [0, 1], each pulled towards its own mean."""
    centre = x.mean(dim=(1, 2, 3), keepdim=True)
    return (centre + factor * (x - centre)).clamp(0, 1)

# %% task: lab06/pgd
def pgd(model, x, y, eps, alpha, steps):
    """Images x (N, 3, H, W) in [0, 1], labels y (N,) -> attacked images within eps of x."""
    low, high = (x - eps).clamp(0, 1), (x + eps).clamp(0, 1)
    moved = x.clone()
    for _ in range(steps):
        moved.requires_grad_(True)
        grad, = torch.autograd.grad(F.cross_entropy(model(moved), y), moved)
        moved = torch.min(torch.max(moved.detach() + alpha * grad.sign(), low), high)
    return moved
