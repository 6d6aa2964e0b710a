# PyTorch CPU column of `npm run bench:peers`: a long-lived subprocess (torch imports once),
# one JSON request per line on stdin, one JSON answer per line on stdout.
#   {"op": "prepare", "kind": "conv", "mode": "forward" | "fwd+bwd", "N", "C", "H", "W",
#    "groups", "k", "stride", "padding"}  or  {"op": "prepare", "kind": "matmul", "M", "K", "N"}
#   {"op": "run"} -> {"ms": time of one run, measured here so pipe latency is not counted}
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)


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
        if request["op"] == "prepare":
            step = prepare(request)
            answer = {"ok": True}
        else:
            started = time.perf_counter()
            step()
            answer = {"ms": (time.perf_counter() - started) * 1e3}
    except Exception as e:  # reported in the table cell, the bench goes on
        answer = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(answer), flush=True)
