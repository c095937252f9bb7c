#!/usr/bin/env python3
"""Writes the tabular round-trip fixture that cli/tests/tabular.rs checks: a model the backprop
binary trained on a messy CSV, applied in PyTorch from its metadata alone.

    pip install torch safetensors numpy
    python3 scripts/tabular_fixture.py

1. `backprop train` on tests/fixtures/tabular.toml (cli/tests/data/flowers.csv: text labels, a
   category, gaps) writes tests/fixtures/tabular_model.safetensors.
2. This script reads that file's metadata as the README documents it ("columns", "na_values",
   "standardize_mean", "standardize_std", "classes"), encodes cli/tests/data/flowers_new.csv
   (columns in another order, an extra column, a category training never saw) with nothing but
   the standard library's csv module, runs the weights in a torch nn.ModuleList, and writes the
   encoded features and the softmax probabilities to tests/fixtures/tabular_io.json.
The Rust side runs `backprop predict --proba` on the same file and compares.
"""
import csv
import json
import os
import subprocess

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIX = os.path.join(ROOT, "tests", "fixtures")
MODEL = os.path.join(FIX, "tabular_model.safetensors")
INPUT = os.path.join(ROOT, "cli", "tests", "data", "flowers_new.csv")

subprocess.run(
    ["cargo", "run", "--release", "--quiet", "--", "train", "--quiet", "--config",
     os.path.join(FIX, "tabular.toml"), "--out", os.path.join(FIX, "tabular_run"), "--save", MODEL],
    cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
for f in os.listdir(os.path.join(FIX, "tabular_run")):
    os.remove(os.path.join(FIX, "tabular_run", f))
os.rmdir(os.path.join(FIX, "tabular_run"))

with safe_open(MODEL, framework="pt") as f:
    meta = f.metadata()
columns = json.loads(meta["columns"])
na_values = set(json.loads(meta["na_values"]))
classes = json.loads(meta["classes"])
mean = torch.tensor([float(v) for v in meta["standardize_mean"].split(",")])
std = torch.tensor([float(v) for v in meta["standardize_std"].split(",")])

with open(INPUT, newline="") as f:
    rows = list(csv.DictReader(f))


def encode(row):
    out = []
    for c in columns:
        cell = row[c["name"]].strip()
        missing = cell in na_values
        if c["kind"] == "numeric":
            out.append(float(c["fill"]) if missing else float(cell))
        else:
            value = c["fill"] if missing else cell
            out.extend(1.0 if value == k else 0.0 for k in c["categories"])
    return out


x = torch.tensor([encode(r) for r in rows], dtype=torch.float32)
assert x.shape[1] == len(json.loads(meta["feature_names"]))
xs = (x - mean) / std

state = load_file(MODEL)
linear = sorted(int(k.split(".")[1]) for k in state if k.endswith(".weight"))
modules = []
for i in range(linear[-1] + 1):
    if i in linear:
        w = state[f"layers.{i}.weight"]
        modules.append(nn.Linear(w.shape[1], w.shape[0]))
    else:
        modules.append(nn.ReLU())


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


model = Mlp()
model.load_state_dict(state, strict=True)
model.eval()
with torch.no_grad():
    proba = torch.softmax(model(xs), dim=1)

with open(os.path.join(FIX, "tabular_io.json"), "w") as f:
    json.dump({"classes": classes, "features": x.tolist(), "proba": proba.tolist()}, f, indent=1)
    f.write("\n")
print(f"tabular: {len(rows)} rows of {os.path.basename(INPUT)} through PyTorch, classes {classes}")
