"""Plain-PyTorch re-implementation of BlockZoo's ScaffoldNet (no timm).

Every block of BLOCKS is implemented: BlockZoo's ten registry blocks
(ResNetBasicBlock is also the filler block of the two stages that do not
hold the block under test), and four further timm blocks that the
existing operators express (SEBasicBlock, ResNeXtBottleneck,
PreActBasicBlock, DepthwiseSeparableConv; issue 15), written from timm
1.0's source.

Module names (and therefore state_dict keys), module classes and the
order of registration follow the original, so that `print(model)` and
`model.state_dict()` equal the listings in ../shared/reference/
(tests/torch_ref/check_reference.py checks this).  All facts used here
are stated in shared/reference/README.md.  The four further blocks have
no listing there: theirs, in tests/reference/derived/, are made from this
file (tests/torch_ref/derive_reference.py).

    from scaffold import ScaffoldNet
    model = ScaffoldNet("InvertedResidual", "late", num_blocks=3,
                        base_channels=64, classes=10, input_size=32)
"""

import math

import torch
from torch import nn

POSITIONS = ("early", "mid", "late")
STAGE_OF_POSITION = {"early": "stage1", "mid": "stage2", "late": "stage3"}


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    """timm.layers.make_divisible: round v to a multiple of divisor,
    never going below round_limit * v."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d: a BatchNorm2d (so its parameters keep the
    plain bn keys: bn1.weight, bn1.running_mean, ...) followed by an
    activation.  `drop` is always Identity here."""

    def __init__(self, num_features, act_layer=None):
        super().__init__(num_features, eps=1e-5, momentum=0.1)
        self.drop = nn.Identity()
        self.act = act_layer() if act_layer is not None else nn.Identity()

    def forward(self, x):
        x = super().forward(x)
        x = self.drop(x)
        return self.act(x)


def relu_inplace():
    return nn.ReLU(inplace=True)


def downsample_avg(in_chs, out_chs, stride):
    """timm's downsample_avg: [AvgPool2d(2, 2, ceil_mode=True,
    count_include_pad=False) if stride 2 else Identity, Conv1x1, BN]."""
    if stride == 2:
        pool = nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False)
    elif stride == 1:
        pool = nn.Identity()
    else:
        raise ValueError("stride must be 1 or 2")
    return nn.Sequential(pool, nn.Conv2d(in_chs, out_chs, 1, stride=1, bias=False),
                         nn.BatchNorm2d(out_chs))


class ResNetBasicBlockWrapper(nn.Module):
    """conv3x3(stride)-BN-ReLU-conv3x3-BN, + projection shortcut, ReLU.

    BlockZoo always passes timm's `downsample_avg`, so every block has a
    shortcut  downsample = [AvgPool2d(2, 2, ceil_mode=True,
    count_include_pad=False) if stride 2 else Identity,
    Conv1x1(no bias), BN], even when in == out and stride == 1.
    `position` is accepted and ignored, as in the original."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        self.stride = stride
        self.dilation = 1
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.drop_block = nn.Identity()
        self.act1 = relu_inplace()
        self.aa = nn.Identity()
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.act2 = relu_inplace()
        self.downsample = downsample_avg(in_chs, out_chs, stride)

    def forward(self, x):
        shortcut = x
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.drop_block(x)
        x = self.act1(x)
        x = self.aa(x)
        x = self.conv2(x)
        x = self.bn2(x)
        x = x + self.downsample(shortcut)
        return self.act2(x)


class ResNetBottleneckWrapper(nn.Module):
    """planes = out / 4: conv1x1-BN-ReLU, conv3x3(stride)-BN-ReLU,
    conv1x1(-> out)-BN, + downsample_avg shortcut, ReLU."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        planes = out_chs // 4
        self.conv1 = nn.Conv2d(in_chs, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = relu_inplace()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.drop_block = nn.Identity()
        self.act2 = relu_inplace()
        self.aa = nn.Identity()
        self.conv3 = nn.Conv2d(planes, out_chs, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_chs)
        self.act3 = relu_inplace()
        self.downsample = downsample_avg(in_chs, out_chs, stride)

    def forward(self, x):
        shortcut = x
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.aa(self.act2(self.drop_block(self.bn2(self.conv2(x)))))
        x = self.bn3(self.conv3(x))
        return self.act3(x + self.downsample(shortcut))


class InvertedResidualWrapper(nn.Module):
    """pw1x1-BN-act, dw3x3(stride)-BN-act, pw1x1-BN, + identity skip when
    in == out and stride == 1.

    exp = 4 (early, mid) or 6 (late); mid = make_divisible(in * exp, 8);
    act = ReLU at early, Hardswish at mid and late.  No SE."""

    EXPANSION = {"early": 4, "mid": 4, "late": 6}

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        if position not in POSITIONS:
            raise ValueError("unknown position %r" % position)
        act_layer = relu_inplace if position == "early" else nn.Hardswish
        mid_chs = make_divisible(in_chs * self.EXPANSION[position], 8)
        self.has_skip = in_chs == out_chs and stride == 1
        self.conv_pw = nn.Conv2d(in_chs, mid_chs, 1, bias=False)
        self.bn1 = BatchNormAct2d(mid_chs, act_layer)
        self.conv_dw = nn.Conv2d(mid_chs, mid_chs, 3, stride=stride, padding=1,
                                 groups=mid_chs, bias=False)
        self.bn2 = BatchNormAct2d(mid_chs, act_layer)
        self.aa = nn.Identity()
        self.se = nn.Identity()
        self.conv_pwl = nn.Conv2d(mid_chs, out_chs, 1, bias=False)
        self.bn3 = BatchNormAct2d(out_chs, None)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_pw(x)
        x = self.bn1(x)
        x = self.conv_dw(x)
        x = self.bn2(x)
        x = self.aa(x)
        x = self.se(x)
        x = self.conv_pwl(x)
        x = self.bn3(x)
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class ConvNormAct(nn.Module):
    """timm's ConvNormAct: conv (no bias) + BatchNormAct2d."""

    def __init__(self, in_chs, out_chs, kernel, stride=1, groups=1, act_layer=None):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel, stride=stride, padding=kernel // 2,
                              groups=groups, bias=False)
        self.bn = BatchNormAct2d(out_chs, act_layer)

    def forward(self, x):
        return self.bn(self.conv(x))


class LayerScale2d(nn.Module):
    """x * gamma[c], gamma initialised to a constant."""

    def __init__(self, channels, init_values=1e-5):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(channels))

    def forward(self, x):
        return x * self.gamma.view(1, -1, 1, 1)


class UniversalInvertedBottleneckWrapper(nn.Module):
    """MobileNetV4's UIB as BlockZoo configures it: pw_exp (1x1, ReLU),
    dw_mid (3x3 depthwise, stride, ReLU), pw_proj (1x1), LayerScale2d
    (1e-5, applied with or without skip), skip when in == out, stride 1."""

    EXPANSION = {"early": 4, "mid": 4, "late": 6}

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        mid_chs = make_divisible(in_chs * self.EXPANSION[position], 8)
        self.has_skip = in_chs == out_chs and stride == 1
        self.dw_start = nn.Identity()
        self.pw_exp = ConvNormAct(in_chs, mid_chs, 1, act_layer=relu_inplace)
        self.dw_mid = ConvNormAct(mid_chs, mid_chs, 3, stride=stride, groups=mid_chs,
                                  act_layer=relu_inplace)
        self.se = nn.Identity()
        self.pw_proj = ConvNormAct(mid_chs, out_chs, 1)
        self.dw_end = nn.Identity()
        self.layer_scale = LayerScale2d(out_chs, 1e-5)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.pw_proj(self.se(self.dw_mid(self.pw_exp(self.dw_start(x)))))
        x = self.layer_scale(self.dw_end(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class SqueezeExcite(nn.Module):
    """timm's SqueezeExcite: mean over H, W, conv1x1 (bias) -> rd, ReLU,
    conv1x1 (bias) -> C, sigmoid gate, times the input."""

    def __init__(self, channels, rd_channels):
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.act1 = relu_inplace()
        self.conv_expand = nn.Conv2d(rd_channels, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.conv_expand(self.act1(self.conv_reduce(x_se)))
        return x * self.gate(x_se)


class EdgeResidualWrapper(nn.Module):
    """FusedMBConv: conv3x3(stride) in -> mid (exp 4, 6 at late), BN-ReLU,
    SE (late only, rd = round(mid / 4)), conv1x1 -> out, BN, skip when
    in == out and stride 1."""

    EXPANSION = {"early": 4, "mid": 4, "late": 6}

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        mid_chs = make_divisible(in_chs * self.EXPANSION[position], 8)
        self.has_skip = in_chs == out_chs and stride == 1
        self.conv_exp = nn.Conv2d(in_chs, mid_chs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNormAct2d(mid_chs, relu_inplace)
        self.aa = nn.Identity()
        self.se = (SqueezeExcite(mid_chs, round(mid_chs * 0.25)) if position == "late"
                   else nn.Identity())
        self.conv_pwl = nn.Conv2d(mid_chs, out_chs, 1, bias=False)
        self.bn2 = BatchNormAct2d(out_chs, None)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.se(self.aa(self.bn1(self.conv_exp(x))))
        x = self.bn2(self.conv_pwl(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x


class GELU(nn.Module):
    """timm's GELU module: F.gelu, exact (erf) form; prints as GELU()."""

    def forward(self, x):
        return nn.functional.gelu(x)


class LayerNormAct2d(nn.LayerNorm):
    """timm's LayerNormAct2d: LayerNorm over the channels of each pixel
    (NCHW in, NCHW out), then drop and act (both Identity here)."""

    def __init__(self, channels, eps=1e-6):
        super().__init__(channels, eps=eps)
        self.drop = nn.Identity()
        self.act = nn.Identity()

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return self.act(self.drop(x.permute(0, 3, 1, 2)))


class Downsample2d(nn.Module):
    """timm MaxxVit's shortcut: AvgPool2d(3, 2, 1, count_include_pad=False)
    then a 1x1 conv with bias."""

    def __init__(self, in_chs, out_chs):
        super().__init__()
        self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
        self.expand = nn.Conv2d(in_chs, out_chs, 1, bias=True)

    def forward(self, x):
        return self.expand(self.pool(x))


class MbConvLNBlockWrapper(nn.Module):
    """ViTamin's MbConvLNBlock: pre-norm LayerNorm2d (eps 1e-6), conv1x1
    (bias) in -> mid = make_divisible(out * 4), GELU, dw3x3 (stride,
    bias), GELU, conv1x1 (bias) -> out, plus shortcut."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        mid_chs = make_divisible(out_chs * 4, 8)
        if stride == 2:
            self.shortcut = Downsample2d(in_chs, out_chs)
        elif in_chs != out_chs:
            self.shortcut = nn.Conv2d(in_chs, out_chs, 1, bias=True)
        else:
            self.shortcut = nn.Identity()
        self.pre_norm = LayerNormAct2d(in_chs, eps=1e-6)
        self.down = nn.Identity()
        self.conv1_1x1 = nn.Conv2d(in_chs, mid_chs, 1, bias=True)
        self.act1 = GELU()
        self.conv2_kxk = nn.Conv2d(mid_chs, mid_chs, 3, stride=stride, padding=1,
                                   groups=mid_chs, bias=True)
        self.act2 = GELU()
        self.conv3_1x1 = nn.Conv2d(mid_chs, out_chs, 1, bias=True)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = self.shortcut(x)
        x = self.down(self.pre_norm(x))
        x = self.act1(self.conv1_1x1(x))
        x = self.act2(self.conv2_kxk(x))
        x = self.conv3_1x1(x)
        return self.drop_path(x) + shortcut


class MobileOneBlockWrapper(nn.Module):
    """MobileOneBlock (k=3, groups=1, GELU, one kxk branch), train form:
    [conv3x3 + BN] + [conv1x1 + BN] (+ [BN] of the input when in == out
    and stride 1), then GELU."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        self.se = nn.Identity()
        if in_chs == out_chs and stride == 1:
            self.identity = nn.BatchNorm2d(in_chs)
        else:
            self.identity = None
        self.conv_kxk = nn.ModuleList([ConvNormAct(in_chs, out_chs, 3, stride=stride)])
        self.conv_scale = ConvNormAct(in_chs, out_chs, 1, stride=stride)
        self.act = nn.GELU()

    def forward(self, x):
        identity = self.identity(x) if self.identity is not None else 0
        out = self.conv_scale(x) + identity
        for branch in self.conv_kxk:
            out = out + branch(x)
        return self.act(self.se(out))


class ReparamLargeKernelConvWrapper(nn.Module):
    """RepLKNet's block as BlockZoo configures it: [conv7x7 + BN] +
    [conv3x3 + BN], both with groups = in channels and the stride, GELU."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        self.large_conv = ConvNormAct(in_chs, out_chs, 7, stride=stride, groups=in_chs)
        self.small_conv = ConvNormAct(in_chs, out_chs, 3, stride=stride, groups=in_chs)
        self.se = nn.Identity()
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.se(self.large_conv(x) + self.small_conv(x)))


def timm_name(name):
    """Class decorator: print(model) shows timm's class name (several of
    timm's classes share a name with another one here)."""
    def named(cls):
        cls._get_name = lambda self: name
        return cls
    return named


@timm_name("LayerScale2d")
class FastVitLayerScale2d(nn.Module):
    """FastViT's LayerScale2d: gamma [C, 1, 1] (timm's mobilenetv3 one
    above keeps gamma [C])."""

    def __init__(self, channels, init_values=1e-5):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(channels, 1, 1))

    def forward(self, x):
        return x * self.gamma


@timm_name("MobileOneBlock")
class MobileOneBranches(nn.Module):
    """timm's MobileOneBlock with its options spelt out: [convKxK + BN]
    (num_conv_branches of them) + [conv1x1 + BN] (K > 1 and use_scale)
    + [BN] of the input (in == out, stride 1), then act."""

    def __init__(self, chs, kernel, groups, conv_branches=1, use_scale=True, act=None):
        super().__init__()
        self.se = nn.Identity()
        self.identity = nn.BatchNorm2d(chs)
        if conv_branches:
            self.conv_kxk = nn.ModuleList([ConvNormAct(chs, chs, kernel, groups=groups)
                                           for _ in range(conv_branches)])
        else:
            self.conv_kxk = None
        self.conv_scale = (ConvNormAct(chs, chs, 1, groups=groups)
                           if use_scale and kernel > 1 else None)
        self.act = act if act is not None else nn.Identity()

    def forward(self, x):
        out = self.identity(x)
        if self.conv_scale is not None:
            out = out + self.conv_scale(x)
        for branch in self.conv_kxk or []:
            out = out + branch(x)
        return self.act(self.se(out))


def trunc_normal_init(conv, std=0.02):
    """timm's ConvMlp._init_weights; the marker tells parity.py's export
    check which distribution to expect."""
    nn.init.trunc_normal_(conv.weight, std=std, a=-2.0, b=2.0)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    conv.bz_init_std = std


@timm_name("ReparamLargeKernelConv")
class PatchEmbedLargeKernel(ReparamLargeKernelConvWrapper):
    def __init__(self, in_chs, out_chs, stride):
        super().__init__(in_chs, out_chs, stride)
        self.act = nn.Identity()


class PatchEmbed(nn.Module):
    def __init__(self, in_chs, out_chs, stride):
        super().__init__()
        lk = PatchEmbedLargeKernel(in_chs, out_chs, stride)
        self.proj = nn.Sequential(lk, MobileOneBranches(out_chs, 1, 1, act=nn.GELU()))

    def forward(self, x):
        return self.proj(x)


@timm_name("RepMixer")
class RepMixerTokenMixer(nn.Module):
    """x + gamma * (mixer(x) - norm(x))."""

    def __init__(self, chs):
        super().__init__()
        self.norm = MobileOneBranches(chs, 3, chs, conv_branches=0, use_scale=False)
        self.mixer = MobileOneBranches(chs, 3, chs)
        self.layer_scale = FastVitLayerScale2d(chs)

    def forward(self, x):
        return x + self.layer_scale(self.mixer(x) - self.norm(x))


class ConvMlp(nn.Module):
    def __init__(self, chs, hidden):
        super().__init__()
        self.conv = ConvNormAct(chs, chs, 7, groups=chs)
        self.fc1 = nn.Conv2d(chs, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv2d(hidden, chs, 1)
        self.drop = nn.Dropout(0.0)
        for conv in (self.conv.conv, self.fc1, self.fc2):
            trunc_normal_init(conv)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(self.conv(x))))))


class RepMixerBlock(nn.Module):
    def __init__(self, chs):
        super().__init__()
        self.token_mixer = RepMixerTokenMixer(chs)
        self.mlp = ConvMlp(chs, 4 * chs)
        self.layer_scale = FastVitLayerScale2d(chs)
        self.drop_path = nn.Identity()

    def forward(self, x):
        x = self.token_mixer(x)
        return x + self.drop_path(self.layer_scale(self.mlp(x)))


class RepMixerWrapper(nn.Module):
    """A FastViT stage of depth 1 with the RepMixer token mixer, as
    BlockZoo configures it: PatchEmbed (RepLK 7x7 without activation,
    MobileOne 1x1 + GELU), then one RepMixerBlock (mlp ratio 4)."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        self.downsample = PatchEmbed(in_chs, out_chs, stride)
        self.pos_emb = nn.Identity()
        self.blocks = nn.Sequential(RepMixerBlock(out_chs))

    def forward(self, x):
        return self.blocks(self.pos_emb(self.downsample(x)))


class ConvBnAct(nn.Module):
    """timm ghostnet's ConvBnAct branch: conv (no bias), BatchNormAct2d
    (act Identity here), aa and drop_path Identity."""

    def __init__(self, in_chs, out_chs, kernel, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, kernel, stride=stride, padding=kernel // 2,
                              groups=groups, bias=False)
        self.bn1 = BatchNormAct2d(out_chs, None)
        self.aa = nn.Identity()
        self.drop_path = nn.Identity()

    def forward(self, x):
        return self.aa(self.bn1(self.conv(x)))


class GhostModuleV3(nn.Module):
    """Training form, mode 'original': primary = act(sum of 3 conv1x1+BN)
    (init = ceil(out / 2) channels), cheap = act(dw1x1+BN + BN + sum of 3
    dw3x3+BN) on primary, output cat(primary, cheap)[:, :out]."""

    def __init__(self, in_chs, out_chs, relu=True):
        super().__init__()
        init = math.ceil(out_chs / 2)
        act = relu_inplace if relu else nn.Identity
        self.out_chs = out_chs
        self.gate_fn = nn.Sigmoid()
        self.primary_conv = nn.Identity()
        self.cheap_operation = nn.Identity()
        self.primary_rpr_conv = nn.ModuleList([ConvBnAct(in_chs, init, 1) for _ in range(3)])
        self.primary_activation = act()
        self.cheap_rpr_skip = nn.BatchNorm2d(init)
        self.cheap_rpr_conv = nn.ModuleList([ConvBnAct(init, init, 3, groups=init)
                                             for _ in range(3)])
        self.cheap_rpr_scale = ConvBnAct(init, init, 1, groups=init)
        self.cheap_activation = act()
        self.short_conv = nn.Identity()

    def forward(self, x):
        x1 = 0
        for branch in self.primary_rpr_conv:
            x1 = x1 + branch(x)
        x1 = self.primary_activation(x1)
        x2 = self.cheap_rpr_scale(x1) + self.cheap_rpr_skip(x1)
        for branch in self.cheap_rpr_conv:
            x2 = x2 + branch(x1)
        x2 = self.cheap_activation(x2)
        return torch.cat([x1, x2], dim=1)[:, :self.out_chs]


def hard_sigmoid_se(channels):
    """GhostNet's SE: rd = make_divisible(C / 4, 4), hard-sigmoid gate."""
    se = SqueezeExcite(channels, make_divisible(channels / 4, 4))
    se.gate = nn.Hardsigmoid()
    return se


class GhostBottleneckV3Wrapper(nn.Module):
    """mid = in * 3 (5 at late); ghost1 (ReLU); at stride 2 the
    re-parameterisable depthwise [dw1x1 + BN] + 3 x [dw3x3 + BN]; SE at
    late; ghost2 (no act); shortcut dw3x3 + BN + conv1x1 + BN when the
    width or stride changes."""

    EXPANSION = {"early": 3, "mid": 3, "late": 5}

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        mid = in_chs * self.EXPANSION[position]
        self.stride = stride
        self.conv_dw = nn.Identity()
        self.bn_dw = nn.Identity()
        self.ghost1 = GhostModuleV3(in_chs, mid, relu=True)
        if stride > 1:
            self.dw_rpr_conv = nn.ModuleList([ConvBnAct(mid, mid, 3, stride=stride, groups=mid)
                                              for _ in range(3)])
            self.dw_rpr_scale = ConvBnAct(mid, mid, 1, stride=stride, groups=mid)
        else:
            self.dw_rpr_conv = nn.ModuleList()
            self.dw_rpr_scale = nn.Identity()
        self.se = hard_sigmoid_se(mid) if position == "late" else nn.Identity()
        self.ghost2 = GhostModuleV3(mid, out_chs, relu=False)
        if in_chs == out_chs and stride == 1:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_chs, in_chs, 3, stride=stride, padding=1, groups=in_chs, bias=False),
                nn.BatchNorm2d(in_chs),
                nn.Conv2d(in_chs, out_chs, 1, bias=False),
                nn.BatchNorm2d(out_chs))

    def forward(self, x):
        shortcut = x
        x = self.ghost1(x)
        if self.stride > 1:
            y = self.dw_rpr_scale(x)
            for branch in self.dw_rpr_conv:
                y = y + branch(x)
            x = y
        x = self.ghost2(self.se(x))
        return x + self.shortcut(shortcut)


# --------------------------------------------------------------------------
# Blocks beyond BlockZoo's ten (issue 15): timm classes that the existing
# operators express, wrapped with BlockZoo's convention Block(in, out,
# stride).  No listing of these exists in ../shared/reference; their
# listings in tests/reference/derived/ are made from the classes below by
# tests/torch_ref/derive_reference.py.  Initialisation: timm's block
# constructors call no init function (the ResNet/ResNetV2/EfficientNet model
# classes do, and BlockZoo builds blocks, not models), so PyTorch's defaults.


class SEModule(nn.Module):
    """timm's SEModule (timm.layers.squeeze_excite; create_attn('se', C))
    with its defaults: rd = make_divisible(C / 16, 8, round_limit=0), mean
    over H, W, fc1 conv1x1 (bias), bn Identity, ReLU, fc2 conv1x1 (bias),
    sigmoid gate, times the input."""

    def __init__(self, channels, rd_ratio=1.0 / 16, rd_divisor=8):
        super().__init__()
        self.add_maxpool = False
        rd_channels = make_divisible(channels * rd_ratio, rd_divisor, round_limit=0.0)
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.bn = nn.Identity()
        self.act = relu_inplace()
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=True)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        x_se = x.mean((2, 3), keepdim=True)
        x_se = self.fc2(self.act(self.bn(self.fc1(x_se))))
        return x * self.gate(x_se)


class SEBasicBlockWrapper(nn.Module):
    """timm's resnet BasicBlock(in, out, stride, downsample=downsample_avg,
    attn_layer='se'), wrapped as ResNetBasicBlock: conv3x3(stride)-BN-ReLU-
    conv3x3-BN, SE (registered after bn2, applied before the shortcut add),
    + downsample_avg projection shortcut, ReLU."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        # timm receives the downsample as an argument: made (and its conv
        # initialised) first, registered last
        downsample = downsample_avg(in_chs, out_chs, stride)
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.drop_block = nn.Identity()
        self.act1 = relu_inplace()
        self.aa = nn.Identity()
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.se = SEModule(out_chs)
        self.act2 = relu_inplace()
        self.downsample = downsample
        self.stride = stride
        self.dilation = 1

    def forward(self, x):
        shortcut = x
        x = self.aa(self.act1(self.drop_block(self.bn1(self.conv1(x)))))
        x = self.se(self.bn2(self.conv2(x)))
        x = x + self.downsample(shortcut)
        return self.act2(x)


class ResNeXtBottleneckWrapper(nn.Module):
    """timm's resnet Bottleneck(in, out // 4, stride, downsample_avg,
    cardinality=32, base_width=4), wrapped as ResNetBottleneck:
    width = floor(planes * base_width / 64) * cardinality; conv1x1 -> width,
    BN, ReLU, grouped conv3x3 (stride, 32 groups), BN, ReLU, conv1x1 -> out,
    BN, + downsample_avg shortcut, ReLU."""

    CARDINALITY = 32
    BASE_WIDTH = 4

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        planes = out_chs // 4
        width = int(math.floor(planes * (self.BASE_WIDTH / 64)) * self.CARDINALITY)
        if width == 0:   # timm builds 0-channel convs here, which fail in forward
            raise ValueError("ResNeXtBottleneck: width = floor(%d * %d / 64) * %d = 0 (out %d < 64)"
                             % (planes, self.BASE_WIDTH, self.CARDINALITY, out_chs))
        downsample = downsample_avg(in_chs, out_chs, stride)  # made first, as for timm
        self.conv1 = nn.Conv2d(in_chs, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.act1 = relu_inplace()
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1,
                               groups=self.CARDINALITY, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.drop_block = nn.Identity()
        self.act2 = relu_inplace()
        self.aa = nn.Identity()
        self.conv3 = nn.Conv2d(width, out_chs, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_chs)
        self.act3 = relu_inplace()
        self.downsample = downsample
        self.stride = stride
        self.dilation = 1

    forward = ResNetBottleneckWrapper.forward


class DownsampleConv(nn.Module):
    """timm resnetv2's DownsampleConv with preact=True: a 1x1 conv with the
    stride (create_conv2d: no bias, padding 0), norm Identity."""

    def __init__(self, in_chs, out_chs, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, 1, stride=stride, padding=0, bias=False)
        self.norm = nn.Identity()

    def forward(self, x):
        return self.norm(self.conv(x))


class PreActBasicBlockWrapper(nn.Module):
    """timm's resnetv2.PreActBasic(in, out, stride=stride) as resnetv2_18
    builds it (conv_layer=create_conv2d, norm_layer=BatchNormAct2d with
    ReLU, proj_layer=partial(DownsampleConv, preact=True)), bottle_ratio 1:
    x_preact = norm1(x); shortcut = downsample(x_preact) when stride != 1
    or in != out, else x; conv2(norm2(conv1(x_preact))) + shortcut, no
    activation after the add.  `downsample` is registered first, as in
    timm, so it leads the state_dict."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        mid_chs = make_divisible(out_chs * 1.0)
        if stride != 1 or in_chs != out_chs:
            self.downsample = DownsampleConv(in_chs, out_chs, stride)
        else:
            self.downsample = None
        self.norm1 = BatchNormAct2d(in_chs, relu_inplace)
        self.conv1 = nn.Conv2d(in_chs, mid_chs, 3, stride=stride, padding=1, bias=False)
        self.norm2 = BatchNormAct2d(mid_chs, relu_inplace)
        self.conv2 = nn.Conv2d(mid_chs, out_chs, 3, stride=1, padding=1, bias=False)
        self.drop_path = nn.Identity()

    def forward(self, x):
        x_preact = self.norm1(x)
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample(x_preact)
        x = self.conv1(x_preact)
        x = self.conv2(self.norm2(x))
        x = self.drop_path(x)
        return x + shortcut


class DepthwiseSeparableConvWrapper(nn.Module):
    """timm's _efficientnet_blocks.DepthwiseSeparableConv(in, out,
    stride=stride) with its defaults: conv_dw 3x3 depthwise (stride),
    bn1 BatchNormAct2d + ReLU, aa and se Identity, conv_pw 1x1, bn2
    BatchNormAct2d without activation, skip when stride 1 and in == out."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        self.has_skip = stride == 1 and in_chs == out_chs
        self.has_pw_act = False
        self.conv_s2d = None
        self.bn_s2d = None
        self.conv_dw = nn.Conv2d(in_chs, in_chs, 3, stride=stride, padding=1, groups=in_chs,
                                 bias=False)
        self.bn1 = BatchNormAct2d(in_chs, relu_inplace)
        self.aa = nn.Identity()
        self.se = nn.Identity()
        self.conv_pw = nn.Conv2d(in_chs, out_chs, 1, bias=False)
        self.bn2 = BatchNormAct2d(out_chs, None)
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.bn1(self.conv_dw(x))
        x = self.se(self.aa(x))
        x = self.bn2(self.conv_pw(x))
        if self.has_skip:
            x = self.drop_path(x) + shortcut
        return x



class DilatedBasicBlockWrapper(ResNetBasicBlockWrapper):
    """timm's resnet BasicBlock(in, out, stride, downsample_avg, dilation=2,
    first_dilation=2), wrapped as ResNetBasicBlock: both 3x3 convs dilated
    by 2 and padded by 2; the wrapper's downsample_avg keeps dilation 1."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        nn.Module.__init__(self)
        # timm receives the downsample as an argument: made (and its conv
        # initialised) first, registered last
        downsample = downsample_avg(in_chs, out_chs, stride)
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, stride=stride, padding=2, dilation=2,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(out_chs)
        self.drop_block = nn.Identity()
        self.act1 = relu_inplace()
        self.aa = nn.Identity()
        self.conv2 = nn.Conv2d(out_chs, out_chs, 3, stride=1, padding=2, dilation=2, bias=False)
        self.bn2 = nn.BatchNorm2d(out_chs)
        self.act2 = relu_inplace()
        self.downsample = downsample
        self.stride = stride
        self.dilation = 2


class LayerNorm(nn.LayerNorm):
    """timm's layers.LayerNorm: nn.LayerNorm over the last dim, eps 1e-6.
    (Its class name matters: torchinfo counts any class whose name holds
    "Conv" per output pixel.)"""

    def __init__(self, channels, eps=1e-6):
        super().__init__(channels, eps=eps)


class Mlp(nn.Module):
    """timm's layers.Mlp (use_conv=False): fc1, act, drop1, norm
    (Identity), fc2, drop2; Linear layers with bias."""

    def __init__(self, in_features, hidden_features, act_layer):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.drop1 = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x):
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class Downsample(nn.Module):
    """timm's convnext.Downsample(in, out, stride): AvgPool2d(2, stride,
    ceil_mode, count_include_pad=False) at stride 2, then a 1x1 conv without
    bias (timm's create_conv2d default) when the width changes."""

    def __init__(self, in_chs, out_chs, stride=1):
        super().__init__()
        self.pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                     if stride > 1 else nn.Identity())
        self.conv = (nn.Conv2d(in_chs, out_chs, 1, bias=False) if in_chs != out_chs
                     else nn.Identity())

    def forward(self, x):
        return self.conv(self.pool(x))


class ConvNeXtBlockWrapper(nn.Module):
    """timm's convnext.ConvNeXtBlock(in, out, stride=stride), defaults
    otherwise: conv_dw (7x7, groups in, bias, stride), permute to NHWC,
    LayerNorm (eps 1e-6), Mlp (4x, GELU), permute back, x gamma (1e-6, a
    parameter of the block), + shortcut (Downsample when the stride or the
    width changes)."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        self.use_conv_mlp = False
        self.conv_dw = nn.Conv2d(in_chs, out_chs, 7, stride=stride, padding=3, groups=in_chs,
                                 bias=True)
        self.norm = LayerNorm(out_chs)
        self.mlp = Mlp(out_chs, 4 * out_chs, GELU)
        self.gamma = nn.Parameter(1e-6 * torch.ones(out_chs))
        if in_chs != out_chs or stride != 1:
            self.shortcut = Downsample(in_chs, out_chs, stride)
        else:
            self.shortcut = nn.Identity()
        self.drop_path = nn.Identity()

    def forward(self, x):
        shortcut = x
        x = self.conv_dw(x).permute(0, 2, 3, 1)
        x = self.mlp(self.norm(x)).permute(0, 3, 1, 2)
        x = x.mul(self.gamma.reshape(1, -1, 1, 1))
        return self.drop_path(x) + self.shortcut(shortcut)


class Attention(nn.Module):
    """timm's vision_transformer Attention (qkv_bias=True), its unfused
    path: qkv (Linear dim -> 3 dim) split as [3][heads][dim / heads],
    softmax(q k^T / sqrt(d)) v per head, proj (Linear)."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.q_norm = nn.Identity()
        self.k_norm = nn.Identity()
        self.attn_drop = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (self.q_norm(q) * self.scale) @ self.k_norm(k).transpose(-2, -1)
        attn = self.attn_drop(attn.softmax(dim=-1))
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(self.norm(x)))


class Block(nn.Module):
    """timm's vision_transformer Block as MobileVitBlock builds it
    (mlp_ratio 2, 4 heads, qkv_bias, SiLU, nn.LayerNorm, no layer scale):
    x + attn(norm1(x)), then + mlp(norm2(x))."""

    def __init__(self, dim, num_heads=4, mlp_ratio=2.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads)
        self.ls1 = nn.Identity()
        self.drop_path1 = nn.Identity()
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), nn.SiLU)
        self.ls2 = nn.Identity()
        self.drop_path2 = nn.Identity()

    def forward(self, x):
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x))))
        return x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))


def silu_inplace():
    return nn.SiLU(inplace=True)


class MobileVitBody(nn.Module):
    """timm's mobilevit.MobileVitBlock(c, c, patch_size=2) with SiLU
    (LayerFn(act=SiLU), as timm's MobileViT models build it): conv_kxk,
    conv_1x1 -> dim, unfold into 2x2 patches ([B * 4, N, dim]), two
    transformer blocks, LayerNorm, fold, conv_proj, conv_fusion on
    cat(input, x)."""

    def __init__(self, chs, patch_size=2):
        super().__init__()
        dim = make_divisible(chs)
        self.conv_kxk = ConvNormAct(chs, chs, 3, act_layer=silu_inplace)
        self.conv_1x1 = nn.Conv2d(chs, dim, 1, bias=False)
        self.transformer = nn.Sequential(Block(dim), Block(dim))
        self.norm = nn.LayerNorm(dim)
        self.conv_proj = ConvNormAct(dim, chs, 1, act_layer=silu_inplace)
        self.conv_fusion = ConvNormAct(2 * chs, chs, 3, act_layer=silu_inplace)
        self.patch_size = (patch_size, patch_size)
        self.patch_area = patch_size * patch_size

    def forward(self, x):
        shortcut = x
        x = self.conv_1x1(self.conv_kxk(x))
        ph, pw = self.patch_size
        B, C, H, W = x.shape
        nh, nw = H // ph, W // pw
        if nh * ph != H or nw * pw != W:
            raise ValueError("MobileVitBlock: a %dx%d map does not split into %dx%d patches"
                             % (H, W, ph, pw))
        n = nh * nw
        x = x.reshape(B * C * nh, ph, nw, pw).transpose(1, 2)
        x = x.reshape(B, C, n, self.patch_area).transpose(1, 3).reshape(B * self.patch_area, n, -1)
        x = self.norm(self.transformer(x))
        x = x.contiguous().view(B, self.patch_area, n, -1)
        x = x.transpose(1, 3).reshape(B * C * nh, nw, ph, pw)
        x = x.transpose(1, 2).reshape(B, C, nh * ph, nw * pw)
        x = self.conv_proj(x)
        return self.conv_fusion(torch.cat((shortcut, x), dim=1))


class MobileVitBlockWrapper(nn.Module):
    """MobileVitBody(out) after timm's ConvNormAct(in, out, 3, stride) with
    SiLU as `downsample` where the stride or the width changes (the block
    concatenates its input, so it cannot change either).  The body's
    modules sit at the top level of the block (conv_kxk, transformer, ...),
    as if the wrapper were the MobileVitBlock with a downsample added."""

    def __init__(self, in_chs, out_chs, stride=1, position="mid"):
        super().__init__()
        if stride != 1 or in_chs != out_chs:
            self.downsample = ConvNormAct(in_chs, out_chs, 3, stride=stride, act_layer=silu_inplace)
        else:
            self.downsample = nn.Identity()
        body = MobileVitBody(out_chs)
        for name, module in body.named_children():
            self.add_module(name, module)
        self.forward_body = MobileVitBody.forward.__get__(self)
        self.patch_size, self.patch_area = body.patch_size, body.patch_area

    def forward(self, x):
        return self.forward_body(self.downsample(x))

BLOCKS = {
    "ResNetBasicBlock": ResNetBasicBlockWrapper,
    "InvertedResidual": InvertedResidualWrapper,
    "ResNetBottleneck": ResNetBottleneckWrapper,
    "UniversalInvertedBottleneck": UniversalInvertedBottleneckWrapper,
    "EdgeResidual": EdgeResidualWrapper,
    "MBConvLNBlock": MbConvLNBlockWrapper,
    "MobileOneBlock": MobileOneBlockWrapper,
    "ReparamLargeKernelConv": ReparamLargeKernelConvWrapper,
    "GhostBottleneckV3": GhostBottleneckV3Wrapper,
    "RepMixer": RepMixerWrapper,
    "SEBasicBlock": SEBasicBlockWrapper,
    "ResNeXtBottleneck": ResNeXtBottleneckWrapper,
    "PreActBasicBlock": PreActBasicBlockWrapper,
    "DepthwiseSeparableConv": DepthwiseSeparableConvWrapper,
    "DilatedBasicBlock": DilatedBasicBlockWrapper,
    "ConvNeXtBlock": ConvNeXtBlockWrapper,
    "MobileVitBlock": MobileVitBlockWrapper,
}

# experiment-name spelling (specs/<snake>_<position>.yaml) -> registry name
SNAKE_NAMES = {
    "resnet_basic_block": "ResNetBasicBlock",
    "inverted_residual": "InvertedResidual",
    "resnet_bottleneck": "ResNetBottleneck",
    "universal_inverted_bottleneck": "UniversalInvertedBottleneck",
    "edge_residual": "EdgeResidual",
    "mbconv_ln_block": "MBConvLNBlock",
    "mobile_one_block": "MobileOneBlock",
    "reparam_large_kernel_conv": "ReparamLargeKernelConv",
    "ghost_bottleneck_v3": "GhostBottleneckV3",
    "rep_mixer": "RepMixer",
    "se_basic_block": "SEBasicBlock",
    "resnext_bottleneck": "ResNeXtBottleneck",
    "preact_basic_block": "PreActBasicBlock",
    "depthwise_separable_conv": "DepthwiseSeparableConv",
    "dilated_basic_block": "DilatedBasicBlock",
    "convnext_block": "ConvNeXtBlock",
    "mobile_vit_block": "MobileVitBlock",
}


def block_name(name):
    """Accept a registry name (InvertedResidual) or its experiment
    spelling (inverted_residual); return the registry name."""
    if name in BLOCKS:
        return name
    if name in SNAKE_NAMES:
        return SNAKE_NAMES[name]
    raise ValueError("unknown block %r (known: %s)"
                     % (name, ", ".join(sorted(BLOCKS) + sorted(SNAKE_NAMES))))


def parse_experiment(exp):
    """'inverted_residual_late' -> ('InvertedResidual', 'late')."""
    snake, _, position = exp.rpartition("_")
    return block_name(snake), position


class ScaffoldNet(nn.Module):
    """stem conv3x3(3->b, bias)+BN+ReLU; stage1 b->b s1; stage2 b->2b s2;
    stage3 2b->4b s2; head avgpool+flatten+linear(4b->classes).

    The stage named by `position` holds `block`, the other two hold the
    ResNetBasicBlock filler.  Every block receives the position string of
    its own stage.  `input_size` does not change any parameter (the head
    pools globally); it is kept for the tests that make inputs."""

    def __init__(self, block, position, num_blocks=3, base_channels=64,
                 classes=10, input_size=32):
        super().__init__()
        block = block_name(block)
        if position not in POSITIONS:
            raise ValueError("unknown position %r" % position)
        self.block = block
        self.position = position
        self.num_blocks = num_blocks
        self.base_channels = base_channels
        self.classes = classes
        self.input_size = input_size

        b = base_channels
        chs = [b, b, 2 * b, 4 * b]
        self.stem = nn.Sequential(
            nn.Conv2d(3, b, 3, stride=1, padding=1, bias=True),
            nn.BatchNorm2d(b),
            relu_inplace(),
        )
        for k, (stage_pos, stride) in enumerate(zip(POSITIONS, (1, 2, 2)), start=1):
            cls = BLOCKS[block] if stage_pos == position else ResNetBasicBlockWrapper
            blocks = []
            for i in range(num_blocks):
                if i == 0:
                    blocks.append(cls(chs[k - 1], chs[k], stride, stage_pos))
                else:
                    blocks.append(cls(chs[k], chs[k], 1, stage_pos))
            setattr(self, "stage%d" % k, nn.Sequential(*blocks))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(chs[3], classes),
        )

    def forward(self, x):
        x = self.stem(x)
        x = self.stage1(x)
        x = self.stage2(x)
        x = self.stage3(x)
        return self.head(x)


def build(block, position, seed=0, **kw):
    """Construct a ScaffoldNet after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    return ScaffoldNet(block, position, **kw)
