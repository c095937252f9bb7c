#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into fuzz/seeds/<target>/ (committed; rerun to refresh).

Needs numpy and safetensors (with torch for the state dict). Each seed is a small valid file
(or a near miss), so libFuzzer starts from inputs that reach deep into each reader.
"""
import gzip
import io
import os
import struct

import numpy as np
import torch
from safetensors.torch import save as st_save

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "seeds", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- safetensors: the fuzz target's Mlp([2, 3, 2], batch_norm) and near misses.
torch.manual_seed(0)
layers = torch.nn.ModuleList(
    [torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2)]
)
sd = {f"layers.{k}": v.contiguous() for k, v in layers.state_dict().items()}
put("safetensors", "mlp_bn", st_save(sd, metadata={"format": "pt"}))
put("safetensors", "mlp_bn_nometa", st_save(sd))
wrong = dict(sd)
wrong["layers.0.weight"] = torch.zeros(2, 3)
put("safetensors", "wrong_shape", st_save(wrong))
extra = dict(sd)
extra["layers.9.weight"] = torch.zeros(1)
put("safetensors", "extra_key", st_save(extra))
dt = dict(sd)
dt["layers.2.num_batches_tracked"] = torch.tensor(1.0)
put("safetensors", "f32_counter", st_save(dt))
put("safetensors", "f64_and_f16", st_save({"a": torch.ones(2, dtype=torch.float64), "b": torch.ones(1, dtype=torch.float16)}))
put("safetensors", "empty", st_save({}))

# --- npy: every dtype the reader takes, both header versions, and refusals.
def npy(a, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()

put("npy", "f4_2d", npy(np.arange(6, dtype="<f4").reshape(2, 3) / 4))
put("npy", "f8_1d", npy(np.array([0.5, -1e300, 3.0], dtype="<f8")))
put("npy", "i8_1d", npy(np.array([0, 1, 2, -5], dtype="<i8")))
put("npy", "i4_2d", npy(np.array([[1, 2]], dtype="<i4")))
put("npy", "u1_2d", npy(np.array([[0, 255], [7, 8]], dtype="u1")))
put("npy", "v2_f4", npy(np.ones((2, 2), dtype="<f4"), version=(2, 0)))
put("npy", "v3_f4", npy(np.ones(3, dtype="<f4"), version=(3, 0)))
put("npy", "empty_rows", npy(np.zeros((0, 3), dtype="<f4")))
put("npy", "fortran", npy(np.asfortranarray(np.ones((2, 3), dtype="<f4"))))
put("npy", "big_endian", npy(np.ones(2, dtype=">f4")))
put("npy", "nan", npy(np.array([1.0, np.nan], dtype="<f4")))

# --- IDX: plain and gzipped, each type code.
def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload

labels = idx(0x08, [4], bytes([0, 1, 9, 3]))
images = idx(0x08, [2, 2, 3], bytes(range(12)))
put("idx", "labels_u8", labels)
put("idx", "images_u8", images)
put("idx", "i8", idx(0x09, [3], bytes([0x80, 0x7F, 1])))
put("idx", "i16", idx(0x0B, [2], struct.pack(">hh", -300, 7)))
put("idx", "i32", idx(0x0C, [1, 2], struct.pack(">ii", -70000, 1)))
put("idx", "f32", idx(0x0D, [2], struct.pack(">ff", 0.25, -2.0)))
put("idx", "f64", idx(0x0E, [2], struct.pack(">dd", 1e-3, 4.0)))
put("idx", "labels_u8_gz", gzip.compress(labels, mtime=0))
put("idx", "images_u8_gz", gzip.compress(images, mtime=0))
put("idx", "zeros_gz", gzip.compress(idx(0x08, [64, 64], bytes(4096)), mtime=0))

# --- CSV.
put("csv", "plain", "a,b,label\n1,2,0\n3,4.5,1\n-1e-3,.5,2\n")
put("csv", "quoted_crlf_bom", "\ufeff\"a\",\"b\",\"c,d\"\r\n1, 2 ,3\r\n\r\n4,5,6\r\n")
put("csv", "one_column", "b\n1\n2\n")
put("csv", "ragged", "a,b\n1,2\n3\n")
put("csv", "not_a_number", "a,b\n1,x\n")
put("csv", "escaped_quote", "\"x\"\"y\",b\n1,2\n")

# --- The CLI's TOML config.
full = """seed = 7
[model]
layers = [4, 16, 3]
activation = "relu"
batch_norm = true
dropout = 0.1
init = "xavier_uniform"
[data]
train = "iris"
test = 0.2
validation = 0.1
target = "label"
standardize = true
[train]
loss = "cross_entropy"
optimizer = "adamw"
lr = 0.01
betas = [0.9, 0.999]
eps = 1e-8
weight_decay = 0.01
amsgrad = true
scheduler = "cosine"
t_max = 10
eta_min = 0.0
epochs = 100
batch_size = 16
shuffle = true
clip_grad_norm = 1.0
l1 = 0.0
early_stopping = 10
"""
put("config", "full", full)
put("config", "minimal", '[model]\nlayers = [2, 2]\n[data]\ntrain = "xor"\n')
put("config", "sgd_step", '[model]\nlayers = [2, 4, 1]\nactivation = "tanh"\n[data]\ntrain = "d.csv"\ntest = "t.csv"\n'
    '[train]\nloss = "mse"\noptimizer = "sgd"\nlr = 0.1\nmomentum = 0.9\nnesterov = true\ndampening = 0.0\n'
    'scheduler = "step"\nstep_size = 2\ngamma = 0.5\nbatch_size = 0\n')
put("config", "rmsprop_multistep", '[model]\nlayers = [3, 3]\n[data]\ntrain_x = "x.npy"\ntrain_y = "y.npy"\n'
    '[train]\noptimizer = "rmsprop"\nalpha = 0.9\ncentered = true\nscheduler = "multistep"\nmilestones = [1, 3]\n'
    'loss = "smooth_l1"\n')
put("config", "exponential", '[model]\nlayers = [2, 1]\n[data]\ntrain = "xor"\n[train]\nloss = "bce_with_logits"\n'
    'scheduler = "exponential"\ngamma = 0.9\noptimizer = "adam"\n')
put("config", "typo", '[model]\nlayers = [2, 2]\nactivaton = "relu"\n[data]\ntrain = "xor"\n')
