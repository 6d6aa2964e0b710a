// PyTorch on the CPU, from the interpreter ../torch-python.ts picks ($PYTHON, the repository's
// .venv-torch, made on first use, or Debian's python3-torch): torch_peer.py runs as one
// subprocess for the whole bench and answers one JSON line per request.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describeTorch, torchPython, type TorchPython } from '../torch-python.js';
import type { Contender, Runner } from './contender.js';
import { checkParameters, type Workload } from './workloads.js';

const THREADS = 2;
const SCRIPT = fileURLToPath(new URL('torch_peer.py', import.meta.url));

/** Why there is no PyTorch column, or null when there is one. */
export function torchMissing(): string | null {
  const t = torchPython();
  return typeof t === 'string' ? t : null;
}

export function torchAvailable(): boolean {
  return torchMissing() === null;
}

function interpreter(): TorchPython {
  const t = torchPython();
  if (typeof t === 'string') throw new Error(t);
  return t;
}

interface Answer {
  ms?: number;
  /** The model's parameter count, answering a training prepare. */
  parameters?: number;
  error?: string;
}

/** One request, one answer line; requests never overlap (the bench awaits each). */
class Peer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private exited: string | null = null;

  constructor({ python, env }: TorchPython) {
    this.child = spawn(python, [SCRIPT, String(THREADS)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(`[torch] ${d.toString()}`));
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
    this.child.on('exit', (code) => {
      this.exited = `torch_peer.py exited with status ${code}`;
      this.waiting.splice(0).forEach((resolve) => resolve(JSON.stringify({ error: this.exited })));
    });
  }

  async ask(request: object): Promise<Answer> {
    if (this.exited) throw new Error(this.exited);
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    this.child.stdin.write(`${JSON.stringify(request)}\n`);
    const parsed = JSON.parse(await answer) as Answer;
    if (parsed.error) throw new Error(parsed.error);
    return parsed;
  }

  close(): void {
    this.lines.close();
    this.child.stdin.end();
  }
}

function request(w: Workload): object {
  if (w.kind === 'matmul') return { op: 'prepare', kind: 'matmul', M: w.M, K: w.K, N: w.N };
  const g = w.g;
  return {
    op: 'prepare',
    kind: 'conv',
    mode: w.mode,
    N: g.N,
    C: g.C_in,
    H: g.H,
    W: g.W,
    groups: g.groups,
    k: g.kH,
    stride: g.stride[0],
    padding: g.padding[0],
  };
}

/** Runs the step torch_peer.py last prepared. */
function runner(p: Peer): Runner {
  return {
    async run() {
      const { ms = NaN } = await p.ask({ op: 'run' });
      return { ms, wallMs: ms };
    },
    dispose: () => undefined,
  };
}

export function torchCpu(): Contender {
  let peer: Peer | null = null;
  return {
    name: 'PyTorch CPU',
    kind: 'cpu',
    // Read once the column exists (the bench prints the notes at the end).
    get notes() {
      const t = torchPython();
      return [
        `PyTorch CPU: torch.nn.functional.conv2d / torch.mm, ${THREADS} threads (intra- and inter-op), fwd+bwd via autograd; training: the same model in torch.nn, torch.optim.SGD; time measured inside Python`,
        ...(typeof t === 'string' ? [] : [`PyTorch CPU: ${describeTorch(t)}`]),
      ];
    },
    async prepare(w) {
      peer ??= new Peer(interpreter());
      await peer.ask(request(w));
      return runner(peer);
    },
    async prepareTraining(w) {
      peer ??= new Peer(interpreter());
      const { parameters = NaN } = await peer.ask({
        op: 'prepare',
        kind: 'train',
        spec: w.spec,
        batch: w.batch,
        input: w.input,
        lr: w.lr,
        momentum: w.momentum,
      });
      checkParameters('PyTorch', parameters, w);
      return runner(peer);
    },
    close() {
      peer?.close();
      return Promise.resolve();
    },
  };
}
