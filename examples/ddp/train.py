"""Continue a resnext-webgpu training checkpoint with PyTorch DistributedDataParallel.

    torchrun --nproc_per_node=2 examples/ddp/train.py --init runs/x/last.safetensors --out ddp.safetensors

reads one of our checkpoints (safetensors: "model.<state-dict key>" tensors, optional
"optimizer.momentum.<i>" buffers, metadata format/config/position) into a torch.nn twin
with the same state-dict names, trains it on the run's dataset with DDP, and has rank 0
write the result back in the same format, so `resnext eval --checkpoint` reads it.

    python examples/ddp/train.py --init CKPT --check-logits 4

prints the eval-mode logits of the first 4 test images instead (no torchrun needed): the
test compares them with our engine's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

sys.dont_write_bytecode = True  # no __pycache__ left in the repository by the import below
sys.path.insert(0, str(Path(__file__).resolve().parent))
import twins  # noqa: E402

CHECKPOINT_FORMAT = "resnext-webgpu checkpoint"
# src/data/datasets.ts: image shape and augmentation (random-crop padding, flips) per dataset.
DATASETS = {
    "fashion-mnist": {"shape": (1, 28, 28), "pad": 2, "flip": True},
    "mnist": {"shape": (1, 28, 28), "pad": 2, "flip": False},
    "cifar10": {"shape": (3, 32, 32), "pad": 4, "flip": True},
}


# ---- our checkpoints ----------------------------------------------------------------------


def read_checkpoint(path: str) -> tuple[dict, dict, dict[str, torch.Tensor], dict[int, torch.Tensor]]:
    """config, position, model state dict and momentum buffers (by parameter index)."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != CHECKPOINT_FORMAT:
            raise SystemExit(f"{path} is not a resnext-webgpu training checkpoint (no checkpoint metadata)")
        model, momentum = {}, {}
        for key in f.keys():
            t = f.get_tensor(key)
            if key.startswith("model."):
                # A checkpoint saved as F16 holds halves; the twin computes in float32.
                model[key[6:]] = t if t.dtype == torch.int64 else t.float()
            elif key.startswith("optimizer.momentum."):
                momentum[int(key[19:])] = t.float()
    return json.loads(meta["config"]), json.loads(meta["position"]), model, momentum


def write_checkpoint(path: str, config: dict, position: dict, model: torch.nn.Module, momentum: list) -> None:
    tensors = {}
    for key, t in model.state_dict().items():
        # float32 like our writer's default; num_batches_tracked stays an int64 scalar (our I64).
        t = t.detach().cpu()
        tensors[f"model.{key}"] = (t if t.dtype == torch.int64 else t.float()).contiguous()
    for i, buf in enumerate(momentum):
        if buf is not None:
            tensors[f"optimizer.momentum.{i}"] = buf.detach().cpu().float().contiguous()
    metadata = {"format": CHECKPOINT_FORMAT, "config": json.dumps(config), "position": json.dumps(position)}
    tmp = f"{path}.tmp-{os.getpid()}"
    save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)  # never leave half a checkpoint behind


def load_model(config: dict, state: dict[str, torch.Tensor]) -> twins.ResNet:
    model = twins.create(config["model"], num_classes=state["fc.weight"].shape[0])
    model.load_state_dict(state, strict=True)
    return model


# ---- data: the same bytes, statistics and augmentation as src/data --------------------------


def read_splits(path: str, shape: tuple[int, int, int]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The cache file of src/data/dataset-format.ts encodeSplits: u32 magic, version, train
    count, test count, C, H, W, checksum; then train labels, test labels, train images, test images."""
    raw = np.fromfile(path, dtype=np.uint8)
    magic, version, n_train, n_test, c, h, w, _ = raw[:32].view("<u4")
    if magic != 0x53445852 or version != 2 or (c, h, w) != shape:
        raise SystemExit(f"{path} is not a dataset cache of {'x'.join(map(str, shape))} images (version 2)")
    size = c * h * w
    at = 32
    labels_train, at = raw[at : at + n_train], at + n_train
    labels_test, at = raw[at : at + n_test], at + n_test
    images_train, at = raw[at : at + n_train * size], at + n_train * size
    images_test = raw[at : at + n_test * size]
    return {
        "train": (images_train.reshape(n_train, *shape), labels_train),
        "test": (images_test.reshape(n_test, *shape), labels_test),
    }


def read_cifar10(data_dir: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10's published binary batches (records of 1 label byte + 3x32x32 bytes)."""

    def read(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        records = np.concatenate([np.fromfile(Path(data_dir) / n, dtype=np.uint8) for n in names]).reshape(-1, 3073)
        return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].copy()

    return {"train": read([f"data_batch_{i}.bin" for i in range(1, 6)]), "test": read(["test_batch.bin"])}


def channel_stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the training images in [0, 1] units, as channelStats computes
    them (population variance from the sums, floored at 1e-12), in float64."""
    v = images.astype(np.float64) / 255
    mean = v.mean(axis=(0, 2, 3))
    std = np.sqrt(np.maximum((v * v).mean(axis=(0, 2, 3)) - mean**2, 1e-12))
    return mean, std


class Images(Dataset):
    """Normalised float32 images; with `augment`, the loader's random crop after zero padding
    (shift dy, dx in [-pad, pad], the padding is raw 0) and, where the dataset flips, a mirror."""

    def __init__(self, images, labels, mean, std, augment: dict | None, seed: int) -> None:
        self.images, self.labels, self.augment = images, labels, augment
        self.mean = mean.reshape(-1, 1, 1)
        self.std = std.reshape(-1, 1, 1)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        img = self.images[i]
        if self.augment:
            pad = self.augment["pad"]
            _, h, w = img.shape
            dy, dx = self.rng.integers(-pad, pad + 1, size=2)
            padded = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
            img = padded[:, pad + dy : pad + dy + h, pad + dx : pad + dx + w]
            if self.augment["flip"] and self.rng.random() < 0.5:
                img = img[:, :, ::-1]
        x = ((img / 255 - self.mean) / self.std).astype(np.float32)
        return torch.from_numpy(x), int(self.labels[i])


def load_data(config: dict, data_path: str | None):
    ds = DATASETS[config["dataset"]]
    if config["dataset"] == "cifar10":
        if not config.get("dataDir"):
            raise SystemExit("cifar10 needs the checkpoint config's dataDir")
        splits = read_cifar10(config["dataDir"])
    else:
        splits = read_splits(data_path or f".cache/{config['dataset']}.bin", ds["shape"])
    mean, std = channel_stats(splits["train"][0])
    return splits, mean, std, ds


# ---- modes ------------------------------------------------------------------------------------


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: Dataset, device: torch.device) -> tuple[float, float]:
    """Test loss and top-1 error in eval mode, over the whole split."""
    model.eval()
    loss_sum, wrong = 0.0, 0
    for x, y in DataLoader(data, batch_size=256):
        out = model(x.to(device))
        loss_sum += F.cross_entropy(out, y.to(device), reduction="sum").item()
        wrong += (out.argmax(1).cpu() != y).sum().item()
    return loss_sum / len(data), wrong / len(data)


def check_logits(args) -> None:
    config, _, state, _ = read_checkpoint(args.init)
    splits, mean, std, _ = load_data(config, args.data)
    model = load_model(config, state).eval()
    test = Images(*splits["test"], mean, std, None, 0)
    x = torch.stack([test[i][0] for i in range(args.check_logits)])
    with torch.no_grad():
        logits = model(x)
    print("LOGITS " + json.dumps(logits.flatten().tolist()))


def parameter_digest(model: torch.nn.Module) -> str:
    """sha256 of every parameter's bytes: equal digests mean bit-identical replicas."""
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def limited(split: tuple[np.ndarray, np.ndarray], limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The first `limit` images (the config's trainLimit); our cache files interleave the
    classes, so every prefix is balanced."""
    images, labels = split
    return (images[:limit], labels[:limit]) if limit else (images, labels)


def make_optimizer(model: torch.nn.Module, config: dict, lr: float, momentum: dict[int, torch.Tensor]):
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=lr,
        momentum=config["momentum"],
        nesterov=config["nesterov"],
        weight_decay=config["weightDecay"],
    )
    # Our buffer i belongs to parameter i, and the twin registers its parameters in the same
    # order; torch's SGD then goes on from them as ours would.
    params = list(model.parameters())
    if all(i < len(params) and buf.shape == params[i].shape for i, buf in momentum.items()):
        for i, buf in momentum.items():
            optimizer.state[params[i]]["momentum_buffer"] = buf.to(params[i].device)
    else:
        print("momentum buffers do not match the parameters; starting without them", flush=True)
    return optimizer


def run_epochs(ddp, optimizer, loader, sampler, args, first_epoch: int, device, rank: int) -> tuple[int, int]:
    """Trains up to args.epochs passes or args.steps steps; returns (steps, whole passes)."""
    steps, passes = 0, 0
    for epoch in range(first_epoch, first_epoch + args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle per epoch, the same on every rank
        ddp.train()
        loss_sum, seen = 0.0, 0
        for x, y in loader:
            if args.steps is not None and steps >= args.steps:
                break
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(ddp(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP all-reduces (averages) the gradients here
            optimizer.step()
            steps += 1
            loss_sum += loss.item() * len(y)
            seen += len(y)
        else:
            passes += 1
        if rank == 0 and seen:
            print(f"epoch {epoch + 1}: rank-0 train loss {loss_sum / seen:.4f}", flush=True)
        if args.steps is not None and steps >= args.steps:
            break
    return steps, passes


def train(args) -> None:
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    else:
        # The ranks share the machine's cores: more threads each would only fight over them.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))

    config, position, state, momentum = read_checkpoint(args.init)
    model = load_model(config, state).to(device)
    lr = args.lr if args.lr is not None else config["lr"]
    optimizer = make_optimizer(model, config, lr, momentum)
    ddp = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)

    splits, mean, std, ds = load_data(config, args.data)
    augment = {"pad": ds["pad"], "flip": ds["flip"]} if config["augment"] else None
    train_set = Images(*limited(splits["train"], config.get("trainLimit")), mean, std, augment, config["seed"] + rank)
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=config["seed"])
    # The global batch stays the run's: each of the ranks takes its share.
    per_rank = args.batch_size or max(2, config["batchSize"] // world)
    loader = DataLoader(train_set, batch_size=per_rank, sampler=sampler, drop_last=True)
    if rank == 0:
        print(
            f"ddp: {config['model']} on {config['dataset']} ({len(train_set)} images), {world} ranks on "
            f"{'cuda/nccl' if cuda else 'cpu/gloo'}, batch {per_rank} per rank, lr {lr}, "
            f"from epoch {position['epoch']} step {position['step']}",
            flush=True,
        )
    steps, passes = run_epochs(ddp, optimizer, loader, sampler, args, position["epoch"], device, rank)

    # DDP keeps the replicas' parameters equal; check it rather than trust it.
    digests: list = [None] * world
    dist.all_gather_object(digests, parameter_digest(model))
    equal = all(d == digests[0] for d in digests)
    if rank == 0:
        print(f"parameters equal across {world} ranks: {equal} (sha256 {digests[0][:16]})", flush=True)
    if rank == 0 and equal:
        # The whole test split, as `resnext eval` evaluates it, so the two numbers compare.
        test = Images(*splits["test"], mean, std, None, 0)
        loss, error = evaluate(model, test, device)
        print(f"test ({len(test)} images): loss {loss:.4f}, top-1 error {100 * error:.2f}%", flush=True)
        # Whole passes advance the epoch; a pass cut short by --steps adds its steps only.
        # rngState stays: it is our generator's, which this run did not draw from.
        out_position = {k: v for k, v in position.items() if k != "partial"}
        out_position.update(epoch=position["epoch"] + passes, step=position["step"] + steps)
        buffers = [optimizer.state[p].get("momentum_buffer") for p in model.parameters()]
        write_checkpoint(args.out, config, out_position, model, buffers)
        print(f"wrote {args.out} after {steps} steps ({passes} whole epochs)", flush=True)
    dist.barrier()
    dist.destroy_process_group()
    if not equal:
        raise SystemExit("the ranks' parameters differ; no checkpoint written")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--init", required=True, help="a resnext-webgpu training checkpoint (.safetensors)")
    p.add_argument("--out", help="where rank 0 writes the trained checkpoint")
    p.add_argument("--data", help="the dataset cache file (default .cache/<dataset>.bin)")
    p.add_argument("--epochs", type=int, default=1, help="passes over the training split (default 1)")
    p.add_argument("--steps", type=int, help="stop after this many optimizer steps")
    p.add_argument("--lr", type=float, help="learning rate (default: the checkpoint config's lr, constant)")
    p.add_argument("--batch-size", type=int, help="images per rank per step (default: the config's batch / ranks)")
    p.add_argument("--check-logits", type=int, metavar="N", help="print the eval logits of the first N test images")
    args = p.parse_args()
    if not Path(args.init).is_file():
        p.error(f"--init {args.init}: no such file")
    if args.check_logits:
        check_logits(args)
    elif not args.out:
        p.error("--out is required to train")
    else:
        train(args)


if __name__ == "__main__":
    main()
