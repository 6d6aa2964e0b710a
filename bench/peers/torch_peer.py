# PyTorch CPU column of `npm run bench:peers`: a long-lived subprocess (torch imports once),
# one JSON request per line on stdin, one JSON answer per line on stdout.
#   {"op": "prepare", "kind": "conv", "mode": "forward" | "fwd+bwd", "N", "C", "H", "W",
#    "groups", "k", "stride", "padding"}  or  {"op": "prepare", "kind": "matmul", "M", "K", "N"}
#   or  {"op": "prepare", "kind": "train", "spec": smallResnext()'s spec, "batch", "input":
#    [C, H, W], "lr", "momentum"} -> {"ok": true, "parameters": the model's count}
#   {"op": "run"} -> {"ms": time of one run, measured here so pipe latency is not counted}
import json
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(THREADS)
torch.set_num_interop_threads(THREADS)  # before any inter-op work, or torch refuses
torch.manual_seed(0)


def conv_bn(cin, cout, k, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout))


class Bottleneck(nn.Module):
    """torchvision's: 1x1, grouped 3x3 carrying the stride, 1x1, and a 1x1 projection where the shape changes."""

    def __init__(self, cin, width, cout, stride, groups):
        super().__init__()
        self.main = nn.Sequential(conv_bn(cin, width, 1), nn.ReLU(), conv_bn(width, width, 3, stride, groups), nn.ReLU(), conv_bn(width, cout, 1))
        self.shortcut = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return F.relu(self.main(x) + self.shortcut(x))


def small_resnext(spec):
    """src/models/index.ts's smallResnext(spec): the 'cifar' stem, stages of bottlenecks, pool, linear."""
    layers = [conv_bn(spec["inChannels"], spec["stemChannels"], 3), nn.ReLU()]
    cin, channels = spec["stemChannels"], spec["channels"]
    for stage, cout in enumerate(channels):
        # groupWidth channels per group at the first stage, doubling after.
        width = cout * spec["groupWidth"] // channels[0] * spec["cardinality"]
        for b in range(spec["blocksPerStage"][stage]):
            layers.append(Bottleneck(cin, width, cout, 2 if stage > 0 and b == 0 else 1, spec["cardinality"]))
            cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, spec["numClasses"]))


def prepare_training(r):
    model = small_resnext(r["spec"]).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=r["lr"], momentum=r["momentum"])
    x = torch.randn(r["batch"], *r["input"])
    labels = torch.arange(r["batch"]) % r["spec"]["numClasses"]

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        loss.item()

    return step, sum(p.numel() for p in model.parameters())


def prepare(r):
    if r["kind"] == "matmul":
        a, b = torch.randn(r["M"], r["K"]), torch.randn(r["K"], r["N"])

        def step():
            with torch.no_grad():
                torch.mm(a, b)

        return step
    n, c, g = r["N"], r["C"], r["groups"]
    x = torch.randn(n, c, r["H"], r["W"], requires_grad=r["mode"] != "forward")
    w = torch.randn(c, c // g, r["k"], r["k"], requires_grad=r["mode"] != "forward")

    def conv():
        return F.conv2d(x, w, None, r["stride"], r["padding"], 1, g)

    if r["mode"] == "forward":

        def step():
            with torch.no_grad():
                conv()

        return step
    with torch.no_grad():
        dy = torch.randn_like(conv())

    def step():
        x.grad = w.grad = None
        conv().backward(dy)

    return step


step = None
for line in sys.stdin:
    request = json.loads(line)
    try:
        if request["op"] == "prepare" and request["kind"] == "train":
            step, parameters = prepare_training(request)
            answer = {"ok": True, "parameters": parameters}
        elif request["op"] == "prepare":
            step = prepare(request)
            answer = {"ok": True}
        else:
            started = time.perf_counter()
            step()
            answer = {"ms": (time.perf_counter() - started) * 1e3}
    except Exception as e:  # reported in the table cell, the bench goes on
        answer = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(answer), flush=True)
