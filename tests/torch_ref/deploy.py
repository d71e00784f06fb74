"""The deploy (re-parameterised) form of a scaffold.py network, as
timm.utils.model.reparameterize_model leaves it: each re-parameterisable
module becomes one conv with bias (plus its activation); plain BatchNorms
stay.  For timing only: the merged weights are freshly initialised, not
computed from the branches (the C binaries' deploy_fold does that, and
parity.py checks it).  deploy_form(model) returns a new model whose
parameter count equals BlockZoo's params_deploy."""

import copy

import torch
from torch import nn

import scaffold


class ConvAct(nn.Module):
    def __init__(self, like, act=None):
        super().__init__()
        self.conv = nn.Conv2d(like.in_channels, like.out_channels, like.kernel_size,
                              stride=like.stride, padding=like.padding, groups=like.groups,
                              bias=True)
        self.act = act if act is not None else nn.Identity()

    def forward(self, x):
        return self.act(self.conv(x))


def widest_conv(*convs):
    """The branch conv whose kernel the merged conv takes."""
    return max(convs, key=lambda c: c.kernel_size[0])


class GhostModuleDeploy(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.out_chs = g.out_chs
        self.primary = ConvAct(g.primary_rpr_conv[0].conv, g.primary_activation)
        self.cheap = ConvAct(g.cheap_rpr_conv[0].conv, g.cheap_activation)

    def forward(self, x):
        x1 = self.primary(x)
        return torch.cat([x1, self.cheap(x1)], dim=1)[:, :self.out_chs]


class TokenMixerDeploy(nn.Module):
    def __init__(self, t):
        super().__init__()
        self.reparam_conv = ConvAct(t.mixer.conv_kxk[0].conv).conv

    def forward(self, x):
        return self.reparam_conv(x)


def deploy_module(m):
    """The replacement of one module, or None to recurse into it."""
    if isinstance(m, scaffold.MobileOneBlockWrapper):
        return ConvAct(m.conv_kxk[0].conv, m.act)
    if isinstance(m, scaffold.ReparamLargeKernelConvWrapper):
        return ConvAct(m.large_conv.conv, m.act)
    if isinstance(m, scaffold.MobileOneBranches):
        return ConvAct(m.conv_kxk[0].conv, m.act)
    if isinstance(m, scaffold.RepMixerTokenMixer):
        return TokenMixerDeploy(m)
    if isinstance(m, scaffold.GhostModuleV3):
        return GhostModuleDeploy(m)
    if isinstance(m, scaffold.GhostBottleneckV3Wrapper) and m.stride > 1:
        m.dw_rpr_scale = ConvAct(widest_conv(m.dw_rpr_scale.conv, m.dw_rpr_conv[0].conv)).conv
        m.dw_rpr_conv = nn.ModuleList()
    return None


def replace_in(parent):
    for name, child in list(parent.named_children()):
        new = deploy_module(child)
        if new is None:
            replace_in(child)
        else:
            setattr(parent, name, new)


def deploy_form(model):
    deployed = copy.deepcopy(model)
    replace_in(deployed)
    return deployed.eval()
