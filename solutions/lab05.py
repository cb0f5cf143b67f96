"""Reference solutions of lab 5 (instructor edition only; never copied into labs/).

Each `# %% task: <id>` section replaces the notebook cell whose metadata names the same task.
In the notebook, HEAD is the name of the head module; the tests set it here.
"""
import torch
from torch import nn

HEAD = "classifier.output"

# %% task: lab05/freeze_first
def freeze_first(model, blocks, k):
    """The parameters of blocks[:k] untrainable, every other parameter of model trainable."""
    for p in model.parameters():
        p.requires_grad = True
    for block in blocks[:k]:
        for p in block.parameters():
            p.requires_grad = False
    return model

# %% task: lab05/replace_head
def replace_head(model, num_classes):
    """A fresh nn.Linear at HEAD with the old head's inputs and num_classes outputs."""
    inputs = model.get_submodule(HEAD).in_features
    model.set_submodule(HEAD, nn.Linear(inputs, num_classes))
    return model

# %% task: lab05/make_optimizer
def make_optimizer(model, head, lr):
    """AdamW: the head's parameters at lr, the other trainable ones at lr / 10."""
    in_head = {id(p) for p in head.parameters()}
    head_params, backbone = [], []
    for p in model.parameters():
        if p.requires_grad:
            (head_params if id(p) in in_head else backbone).append(p)
    return torch.optim.AdamW([{"params": head_params, "lr": lr},
                              {"params": backbone, "lr": lr / 10}])

# %% task: lab05/norms_in_eval
def norms_in_eval(model):
    """model in train mode, each batch-norm layer in eval mode; nothing else changed."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()
    return model
