// The Python interpreter with PyTorch that `bench:peers` and bench/memory.ts compare against,
// chosen once per process, in order: $PYTHON when set; the repository's .venv-torch/ (pip's
// torch, with MKL and oneDNN; scripts/setup-torch.sh makes it on first use, the same venv
// examples/ddp uses, so both compare against one torch); Debian's python3 with python3-torch.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VENV_PYTHON = `${ROOT}.venv-torch/bin/python`;
/** Set on these machines for other programs; Debian's OpenBLAS runs at about half speed with them. */
const OPENBLAS_OVERRIDES = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];

export interface TorchBuild {
  version: string;
  /** e.g. 'MKL 2024.2' or 'OpenBLAS', from torch.__config__.show(). */
  blas: string;
  /** e.g. 'oneDNN v3.12.0', or 'no oneDNN' where torch.backends.mkldnn is unavailable. */
  onednn: string;
  /** The widest SIMD its kernels use here ('AVX512'), where torch says. */
  cpu: string | null;
}

export interface TorchPython {
  python: string;
  /** Which of the three it is, for the notes. */
  source: string;
  /** The environment to spawn it with. */
  env: NodeJS.ProcessEnv;
  build: TorchBuild;
}

const PROBE = `import json, torch
print(json.dumps({"version": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
                  "config": torch.__config__.show()}))`;

/** The BLAS, oneDNN and SIMD lines of torch.__config__.show(), shortened. */
export function parseBuild(version: string, mkldnn: boolean, config: string): TorchBuild {
  const info = /BLAS_INFO=([\w-]+)/.exec(config)?.[1];
  const mkl = /Math Kernel Library Version ([\d.]+)/.exec(config)?.[1];
  const named: Record<string, string> = { mkl: 'MKL', open: 'OpenBLAS', openblas: 'OpenBLAS', flexi: 'FlexiBLAS' };
  const blas = mkl ? `MKL ${mkl}` : info ? (named[info] ?? info) : /OpenBLAS/i.test(config) ? 'OpenBLAS' : 'unknown';
  const dnn = /(?:MKL-DNN|oneDNN) (v[\d.]+)/.exec(config)?.[1];
  return {
    version,
    blas,
    onednn: mkldnn ? `oneDNN ${dnn ?? '(version not shown)'}` : 'no oneDNN',
    cpu: /CPU capability usage: (\w+)/.exec(config)?.[1] ?? null,
  };
}

function probe(python: string, env: NodeJS.ProcessEnv): TorchBuild | null {
  const run = spawnSync(python, ['-c', PROBE], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (run.status !== 0) return null;
  try {
    const { version, mkldnn, config } = JSON.parse(run.stdout) as { version: string; mkldnn: boolean; config: string };
    return parseBuild(version, mkldnn, config);
  } catch {
    return null;
  }
}

function withoutOpenblasOverrides(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of OPENBLAS_OVERRIDES) delete env[name];
  return env;
}

function find(): TorchPython | string {
  const given = process.env.PYTHON;
  if (given) {
    const build = probe(given, process.env);
    return build
      ? { python: given, source: '$PYTHON', env: process.env, build }
      : `PYTHON=${given} cannot import torch`;
  }
  const venv = () => probe(VENV_PYTHON, process.env);
  let build = existsSync(VENV_PYTHON) ? venv() : null;
  if (!build) {
    // Progress to stderr: the first time it downloads torch (minutes where the network is slow).
    const setup = spawnSync('bash', [`${ROOT}scripts/setup-torch.sh`], { stdio: ['ignore', 2, 2] });
    if (setup.status === 0) build = venv();
  }
  if (build)
    return {
      python: VENV_PYTHON,
      source: "the repository's .venv-torch (scripts/setup-torch.sh)",
      env: process.env,
      build,
    };
  const env = withoutOpenblasOverrides();
  build = probe('python3', env);
  if (build)
    return {
      python: 'python3',
      source: `Debian's python3-torch (with ${OPENBLAS_OVERRIDES.join(' and ')} unset for it; install libopenblas0-pthread with it)`,
      env,
      build,
    };
  return 'scripts/setup-torch.sh failed (see above) and python3 cannot import torch (apt-get install python3-torch libopenblas0-pthread)';
}

let found: TorchPython | string | undefined;

/** The interpreter to use, or why there is none; looked for once (the first call may run setup-torch.sh). */
export function torchPython(): TorchPython | string {
  return (found ??= find());
}

/** One line for a bench's notes: which interpreter, which torch, which BLAS. */
export function describeTorch(t: TorchPython): string {
  const { version, blas, onednn, cpu } = t.build;
  return `torch ${version} (${blas}, ${onednn}${cpu ? `, ${cpu}` : ''}) from ${t.python}, ${t.source}`;
}
