#!/usr/bin/env python3
"""Writes the PyTorch golden fixtures in tests/fixtures/ that tests/pytorch_golden.rs checks.

    pip install torch safetensors numpy
    python3 scripts/gen_fixtures.py

Every fixture pins its inputs and initial weights (backprop's RNG never matches torch's), so the
Rust side loads them and compares what it computes with what PyTorch computed. CI does not run
this script: the fixtures are committed.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
os.makedirs(OUT, exist_ok=True)


def save(name, tensors, meta):
    save_file({k: v.detach().clone().contiguous() for k, v in tensors.items()}, os.path.join(OUT, name + ".safetensors"))
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


def away(shape, lo=0.1):
    """Normal values pushed at least `lo` away from 0 (kinks of relu/abs/...)."""
    x = torch.randn(shape)
    return torch.where(x.abs() < lo, torch.sign(x + 1e-12) * lo + x, x)


# ----------------------------------------------------------------------------------------------
# ops: forward and gradients of every op, for a fixed random upstream gradient.
# Each case: inputs in0.., output, gradient of sum(out * gout) wrt each input.
ops_tensors, ops_cases = {}, []


def op_case(name, fn, inputs, **kwargs):
    ins = [t.clone().requires_grad_(True) for t in inputs]
    out = fn(*ins)
    gout = torch.randn_like(out)
    (out * gout).sum().backward()
    for i, t in enumerate(ins):
        ops_tensors[f"{name}.in{i}"] = t.detach()
        ops_tensors[f"{name}.grad{i}"] = t.grad
    ops_tensors[f"{name}.out"] = out.detach()
    ops_tensors[f"{name}.gout"] = gout
    ops_cases.append({"name": name, "op": name.split("__")[0], "n_inputs": len(ins), "args": kwargs})


pos = lambda *s: torch.rand(*s) * 1.5 + 0.5
op_case("add", torch.add, [torch.randn(3, 4), torch.randn(4)])
op_case("sub", torch.sub, [torch.randn(3, 1), torch.randn(1, 4)])
op_case("mul", torch.mul, [torch.randn(2, 3, 4), torch.randn(3, 1)])
op_case("div", torch.div, [torch.randn(3, 4), pos(3, 4)])
op_case("add_scalar", lambda x: x + 1.5, [torch.randn(5)], s=1.5)
op_case("mul_scalar", lambda x: x * -2.5, [torch.randn(5)], s=-2.5)
op_case("rdiv_scalar", lambda x: 3.0 / x, [pos(5)], s=3.0)
op_case("neg", torch.neg, [torch.randn(4)])
op_case("pow", lambda x: x.pow(3.0), [torch.randn(2, 3)], p=3.0)
op_case("pow__frac", lambda x: x.pow(-0.5), [pos(2, 3)], p=-0.5)
op_case("exp", torch.exp, [torch.randn(2, 3)])
op_case("log", torch.log, [pos(2, 3)])
op_case("sqrt", torch.sqrt, [pos(2, 3)])
op_case("abs", torch.abs, [away((2, 3))])
op_case("clamp", lambda x: x.clamp(-0.5, 0.7), [torch.tensor([-2.0, -0.6, -0.3, 0.2, 0.69, 0.8, 3.0])], min=-0.5, max=0.7)
op_case("mm", torch.mm, [torch.randn(5, 3), torch.randn(3, 4)])
op_case("matmul__bmm", torch.matmul, [torch.randn(2, 3, 4), torch.randn(2, 4, 5)])
op_case("matmul__mv", torch.matmul, [torch.randn(3, 4), torch.randn(4)])
op_case("dot", torch.dot, [torch.randn(6), torch.randn(6)])
op_case("linear", F.linear, [torch.randn(6, 5), torch.randn(3, 5), torch.randn(3)])
op_case("t", lambda x: x.t(), [torch.randn(3, 4)])
op_case("transpose", lambda x: x.transpose(0, 2), [torch.randn(2, 3, 4)], d0=0, d1=2)
op_case("reshape", lambda x: x.reshape(4, -1), [torch.randn(2, 3, 4)], shape=[4, -1])
op_case("sum", torch.sum, [torch.randn(3, 4)])
op_case("sum_dim", lambda x: x.sum(1, keepdim=True), [torch.randn(3, 4, 2)], dim=1, keepdim=True)
op_case("mean", torch.mean, [torch.randn(3, 4)])
op_case("mean_dim", lambda x: x.mean(-1), [torch.randn(3, 4)], dim=-1, keepdim=False)
op_case("max_dim", lambda x: x.max(0).values, [torch.randn(4, 3)], dim=0, keepdim=False)
op_case("max", lambda x: x.max(), [torch.randn(4, 3)])
op_case("index_select", lambda x: x.index_select(0, torch.tensor([2, 0, 2])), [torch.randn(4, 3)], dim=0, indices=[2, 0, 2])
op_case("cat", lambda a, b: torch.cat([a, b], 1), [torch.randn(2, 3), torch.randn(2, 2)], dim=1)
op_case("stack", lambda a, b: torch.stack([a, b], 0), [torch.randn(2, 3), torch.randn(2, 3)], dim=0)
op_case("sigmoid", torch.sigmoid, [torch.randn(3, 4) * 3])
op_case("tanh", torch.tanh, [torch.randn(3, 4) * 2])
op_case("relu", torch.relu, [away((3, 4))])
op_case("leaky_relu", lambda x: F.leaky_relu(x, 0.01), [away((3, 4))], slope=0.01)
op_case("gelu", F.gelu, [torch.randn(3, 4) * 2])
op_case("elu", lambda x: F.elu(x, 1.0), [away((3, 4))], alpha=1.0)
op_case("silu", F.silu, [torch.randn(3, 4) * 2])
op_case("softmax", lambda x: F.softmax(x, 1), [torch.randn(3, 5) * 3], dim=1)
op_case("log_softmax", lambda x: F.log_softmax(x, -1), [torch.randn(3, 5) * 3], dim=-1)
op_case("softmax__dim0", lambda x: F.softmax(x, 0), [torch.randn(4, 3)], dim=0)
save("ops", ops_tensors, {"cases": ops_cases})

# ----------------------------------------------------------------------------------------------
# special: elementwise ops on NaN, ±0, ±inf and ordinary values; output and the gradient of
# sum(out) (upstream gradient 1), compared with NaN = NaN and the sign of zero.
SPECIAL = torch.tensor([float("nan"), -0.0, 0.0, -1.0, 2.0, 0.3, -2.5, float("inf"), float("-inf")])
special_tensors, special_cases = {}, []


def special_case(name, fn, x=SPECIAL, **kwargs):
    t = x.clone().requires_grad_(True)
    out = fn(t)
    out.backward(torch.ones_like(out))
    special_tensors[f"{name}.in"] = x
    special_tensors[f"{name}.out"] = out.detach()
    special_tensors[f"{name}.grad"] = t.grad
    special_cases.append({"name": name, "op": name.split("__")[0], "args": kwargs})


FINITE = SPECIAL[:7]  # gelu's vectorized erf gives NaN at +inf; not a behaviour to copy
special_case("relu", torch.relu)
special_case("leaky_relu", lambda x: F.leaky_relu(x, 0.01), slope=0.01)
special_case("elu", lambda x: F.elu(x, 1.0), alpha=1.0)
special_case("sigmoid", torch.sigmoid)
special_case("tanh", torch.tanh)
special_case("gelu", F.gelu, FINITE)
special_case("silu", F.silu)
special_case("abs", torch.abs)
special_case("sqrt", torch.sqrt)
special_case("log", torch.log)
special_case("exp", torch.exp)
for p in [2.0, 3.0, 0.5, -0.5, -1.0, -2.0, 1.5]:
    special_case(f"pow__{p}", lambda x, p=p: x.pow(p), p=p)
special_case("clamp", lambda x: x.clamp(-0.5, 0.7), min=-0.5, max=0.7)
save("special", special_tensors, {"cases": special_cases})

# ----------------------------------------------------------------------------------------------
# losses: every loss x reduction.
loss_tensors, loss_cases = {}, []


def loss_case(name, fn, inp, target, **kwargs):
    x = inp.clone().requires_grad_(True)
    for red in ["mean", "sum", "none"]:
        x.grad = None
        out = fn(x, target, reduction=red)
        gout = torch.randn_like(out)
        (out * gout).sum().backward()
        key = f"{name}.{red}"
        loss_tensors[key + ".out"] = out.detach()
        loss_tensors[key + ".gout"] = gout
        loss_tensors[key + ".grad"] = x.grad.clone()
    loss_tensors[name + ".input"] = inp
    loss_tensors[name + ".target"] = target
    loss_cases.append({"name": name, "loss": name.split("__")[0], "args": kwargs})


N, C = 6, 4
labels = torch.tensor([0, 3, 1, 2, 3, 0])
loss_case("mse", F.mse_loss, torch.randn(N, 3), torch.randn(N, 3))
loss_case("l1", F.l1_loss, torch.randn(N, 3), torch.randn(N, 3) + 0.05)
sm_in, sm_t = torch.randn(N, 3) * 2, torch.randn(N, 3)
loss_case("smooth_l1", lambda x, t, reduction: F.smooth_l1_loss(x, t, reduction=reduction, beta=0.5), sm_in, sm_t, beta=0.5)
loss_case("huber", lambda x, t, reduction: F.huber_loss(x, t, reduction=reduction, delta=1.5), sm_in * 2, sm_t, delta=1.5)
loss_case("cross_entropy", lambda x, t, reduction: F.cross_entropy(x, t.long(), reduction=reduction), torch.randn(N, C) * 2, labels.float())
cw = torch.tensor([0.5, 2.0, 1.0, 1.5])
loss_case("cross_entropy__weighted", lambda x, t, reduction: F.cross_entropy(x, t.long(), weight=cw, reduction=reduction, label_smoothing=0.1), torch.randn(N, C) * 2, labels.float(), weight=cw.tolist(), label_smoothing=0.1)
loss_case("nll", lambda x, t, reduction: F.nll_loss(x, t.long(), reduction=reduction), F.log_softmax(torch.randn(N, C), 1), labels.float())
loss_case("bce", F.binary_cross_entropy, torch.rand(N, 2) * 0.9 + 0.05, torch.randint(0, 2, (N, 2)).float())
pw = torch.tensor([1.5, 0.7])
loss_case("bce_with_logits", lambda x, t, reduction: F.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=pw), torch.randn(N, 2) * 3, torch.rand(N, 2), pos_weight=pw.tolist())
save("losses", loss_tensors, {"cases": loss_cases})

# ----------------------------------------------------------------------------------------------
# modules: BatchNorm1d over 3 train steps then eval; Linear; state-dict names and dtypes.
mod_tensors = {}
bn = nn.BatchNorm1d(4)
with torch.no_grad():
    bn.weight.copy_(torch.rand(4) + 0.5)
    bn.bias.copy_(torch.randn(4))
mod_tensors["bn.weight0"] = bn.weight.detach().clone()
mod_tensors["bn.bias0"] = bn.bias.detach().clone()
bn.train()
for step in range(3):
    x = torch.randn(8, 4) * 2 + 1
    x.requires_grad_(True)
    bn.weight.grad = bn.bias.grad = None
    y = bn(x)
    g = torch.randn_like(y)
    (y * g).sum().backward()
    mod_tensors[f"bn.train{step}.x"] = x.detach()
    mod_tensors[f"bn.train{step}.y"] = y.detach()
    mod_tensors[f"bn.train{step}.gout"] = g
    mod_tensors[f"bn.train{step}.dx"] = x.grad
    mod_tensors[f"bn.train{step}.dweight"] = bn.weight.grad.clone()
    mod_tensors[f"bn.train{step}.dbias"] = bn.bias.grad.clone()
    mod_tensors[f"bn.train{step}.running_mean"] = bn.running_mean.clone()
    mod_tensors[f"bn.train{step}.running_var"] = bn.running_var.clone()
bn.eval()
x = torch.randn(5, 4)
mod_tensors["bn.eval.x"] = x
mod_tensors["bn.eval.y"] = bn(x).detach()
save("modules", mod_tensors, {"bn_num_batches_tracked": int(bn.num_batches_tracked)})

# ----------------------------------------------------------------------------------------------
# optimizers: 50 steps of each optimizer x options on a small MLP regression problem.
class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                self.layers.append(nn.Tanh())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


torch.manual_seed(1)
base = MLP([3, 5, 2])
init_state = {k: v.clone() for k, v in base.state_dict().items()}
X, Y = torch.randn(16, 3), torch.randn(16, 2)
opt_tensors = {"x": X, "y": Y}
opt_tensors.update({f"init.{k}": v for k, v in init_state.items()})
OPTIMIZERS = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.001)),
    "sgd_maximize": (torch.optim.SGD, dict(lr=0.01, momentum=0.5, maximize=True)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_wd_amsgrad": (torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, amsgrad=True)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01)),
    "adamw_amsgrad": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True, betas=(0.85, 0.95))),
    "rmsprop": (torch.optim.RMSprop, dict(lr=0.01)),
    "rmsprop_centered_momentum": (torch.optim.RMSprop, dict(lr=0.005, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.01)),
    "adagrad": (torch.optim.Adagrad, dict(lr=0.1)),
    "adagrad_decay": (torch.optim.Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.02, initial_accumulator_value=0.1)),
}
opt_meta = {}
for name, (cls, kw) in OPTIMIZERS.items():
    m = MLP([3, 5, 2])
    m.load_state_dict(init_state)
    opt = cls(m.parameters(), **kw)
    losses = []
    for _ in range(50):
        opt.zero_grad()
        loss = F.mse_loss(m(X), Y)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    for k, v in m.state_dict().items():
        opt_tensors[f"{name}.{k}"] = v.clone()
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
    opt_meta[name] = {"class": cls.__name__, "kwargs": kw, "losses": losses}
save("optim", opt_tensors, opt_meta)

# ----------------------------------------------------------------------------------------------
# schedulers: the lr used in each of 3*T epochs (stepped once per epoch), base lr 0.1.
def lrs(make, epochs):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


S = torch.optim.lr_scheduler
sched_meta = {
    "step": {"args": {"step_size": 3, "gamma": 0.5}, "lrs": lrs(lambda o: S.StepLR(o, 3, 0.5), 20)},
    "multistep": {"args": {"milestones": [2, 5, 9], "gamma": 0.3}, "lrs": lrs(lambda o: S.MultiStepLR(o, [2, 5, 9], 0.3), 20)},
    "exponential": {"args": {"gamma": 0.9}, "lrs": lrs(lambda o: S.ExponentialLR(o, 0.9), 20)},
    "cosine": {"args": {"t_max": 7, "eta_min": 0.001}, "lrs": lrs(lambda o: S.CosineAnnealingLR(o, 7, 0.001), 21)},
    "cosine_zero": {"args": {"t_max": 5, "eta_min": 0.0}, "lrs": lrs(lambda o: S.CosineAnnealingLR(o, 5), 15)},
    "linear": {"args": {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 4}, "lrs": lrs(lambda o: S.LinearLR(o, 0.25, 1.0, 4), 10)},
    "warmup_then_cosine": {
        "args": {"warmup_start_factor": 0.1, "warmup_iters": 3, "t_max": 6, "milestone": 3},
        "lrs": lrs(lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 3), S.CosineAnnealingLR(o, 6)], milestones=[3]), 15),
    },
}


def plateau_lrs(metrics):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = S.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.01, cooldown=1, min_lr=0.01)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        sched.step(m)
    return out


plateau_metrics = [1.0, 0.9, 0.95, 0.92, 0.91, 0.905, 0.9, 0.7, 0.69, 0.695, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77]
sched_meta["plateau"] = {
    "args": {"factor": 0.5, "patience": 2, "threshold": 0.01, "cooldown": 1, "min_lr": 0.01},
    "metrics": plateau_metrics,
    "lrs": plateau_lrs(plateau_metrics),
}
with open(os.path.join(OUT, "schedulers.json"), "w") as f:
    json.dump(sched_meta, f, indent=1, sort_keys=True)
    f.write("\n")

# ----------------------------------------------------------------------------------------------
# xor: the tutorial's section 6 from fixed initial weights; loss after every 100 epochs.
class PyTorchMLP(nn.Module):
    def __init__(self, input_size, hidden_sizes, output_size):
        super().__init__()
        self.layers = nn.ModuleList()
        sizes = [input_size] + hidden_sizes + [output_size]
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                self.layers.append(nn.ReLU())

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


torch.manual_seed(42)
mlp = PyTorchMLP(2, [4, 4], 1)
xor_init = {k: v.clone() for k, v in mlp.state_dict().items()}
Xx = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float32)
Yx = torch.tensor([[0], [1], [1], [0]], dtype=torch.float32)
crit = nn.MSELoss()
opt = torch.optim.Adam(mlp.parameters(), lr=0.01)
xor_losses = []
for epoch in range(1000):
    loss = crit(mlp(Xx), Yx)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if (epoch + 1) % 100 == 0:
        xor_losses.append(loss.item())
mlp.eval()
with torch.no_grad():
    pred = mlp(Xx)
    final_loss = crit(pred, Yx).item()
xt = {f"init.{k}": v for k, v in xor_init.items()}
xt.update({f"final.{k}": v.clone() for k, v in mlp.state_dict().items()})
xt["predictions"] = pred
save("xor", xt, {"losses_every_100": xor_losses, "final_loss": final_loss})

# ----------------------------------------------------------------------------------------------
# interop: a model with BatchNorm1d saved by PyTorch (state dict exactly as PyTorch names it,
# num_batches_tracked int64 0-d), an input, and PyTorch's eval-mode output.
class BNMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 6), nn.ReLU(), nn.BatchNorm1d(6), nn.Dropout(0.2), nn.Linear(6, 2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


torch.manual_seed(7)
m = BNMLP()
m.train()
for _ in range(5):
    m(torch.randn(10, 3) * 2)
m.eval()
xi = torch.randn(7, 3)
with torch.no_grad():
    yi = m(xi)
save_file({k: v.contiguous() for k, v in m.state_dict().items()}, os.path.join(OUT, "interop_model.safetensors"))
save("interop_io", {"x": xi, "y": yi}, {"keys": list(m.state_dict().keys())})
print("fixtures written to", os.path.normpath(OUT))

# ----------------------------------------------------------------------------------------------
# roundtrip: weights written by the backprop binary load in PyTorch with strict=True, and
# PyTorch's eval-mode outputs on a fixed input are recorded for the Rust side to reproduce.
import subprocess
import tempfile

from safetensors.torch import load_file

ROOT = os.path.normpath(os.path.join(OUT, "..", ".."))
written = os.path.join(OUT, "backprop_model.safetensors")
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(
        ["cargo", "run", "--release", "--quiet", "--", "train", "--quiet", "--config", os.path.join(OUT, "roundtrip.toml"),
         "--out", tmp, "--save", written],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


class RoundTrip(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Dropout(0.1), nn.Linear(8, 3)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


rt = RoundTrip()
state = load_file(written)
assert state["layers.2.num_batches_tracked"].dtype == torch.int64 and state["layers.2.num_batches_tracked"].dim() == 0
rt.load_state_dict(state, strict=True)
rt.eval()
torch.manual_seed(5)
xr = torch.randn(9, 4)
with torch.no_grad():
    yr = rt(xr)
save("roundtrip_io", {"x": xr, "y": yr}, {"keys": list(state.keys())})
print("roundtrip: backprop's weights loaded in PyTorch with strict=True")
