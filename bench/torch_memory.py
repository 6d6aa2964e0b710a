# PyTorch's side of bench/memory.ts: one step of a model from examples/ddp/twins.py in a fresh
# process, so the peak resident set is this step's alone.
#   python bench/torch_memory.py MODEL CLASSES C H W train|eval BATCH
# prints {"parameters", "before_kib": peak RSS with the model and input built,
#         "peak_kib": peak RSS after the step, "seconds": the step's time}
# train: forward, cross-entropy, backward, SGD step (momentum 0.9); eval: forward in
# torch.no_grad(). Peak RSS also counts the interpreter and torch's libraries, so
# bench/memory.ts compares two batch sizes: the difference is what the extra images take.
import json
import resource
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "ddp"))
from twins import create  # noqa: E402  (after the path it lives on)

name, classes, c, h, w, mode, batch = sys.argv[1:8]
batch = int(batch)
torch.set_num_threads(2)
torch.set_num_interop_threads(2)
torch.manual_seed(0)
model = create(name, int(classes))
x = torch.randn(batch, int(c), int(h), int(w))
labels = torch.arange(batch) % int(classes)


def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


before = peak_kib()
started = time.perf_counter()
if mode == "train":
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    F.cross_entropy(model(x), labels).backward()
    optimizer.step()
else:
    model.eval()
    with torch.no_grad():
        model(x)
seconds = time.perf_counter() - started
parameters = sum(p.numel() for p in model.parameters())
print(json.dumps({"parameters": parameters, "before_kib": before, "peak_kib": peak_kib(), "seconds": seconds}))
