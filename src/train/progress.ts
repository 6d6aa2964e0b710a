// Progress of an epoch: a bar redrawn in place on a terminal, plain lines now and then
// elsewhere (CI logs, files).

export interface StepReport {
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface Progress {
  update(epoch: number, r: StepReport): void;
  /** Ends the epoch's bar with a summary line. */
  done(line: string): void;
}

const clock = (seconds: number) =>
  Number.isFinite(seconds) ? `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}` : '?';

function describe(epoch: number, r: StepReport): string {
  return `epoch ${epoch} ${r.step}/${r.steps} loss ${r.loss.toFixed(4)} acc ${(100 * r.accuracy).toFixed(1)}% ${r.imagesPerSecond.toFixed(0)} img/s`;
}

export function progressFor(stream: NodeJS.WriteStream = process.stdout, batchSize = 1): Progress {
  if (stream.isTTY) {
    return {
      update(epoch, r) {
        const width = 24;
        const filled = Math.round((width * r.step) / r.steps);
        const eta = ((r.steps - r.step) * batchSize) / Math.max(r.imagesPerSecond, 1e-9);
        stream.write(
          `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describe(epoch, r)} ETA ${clock(eta)}\x1b[K`,
        );
      },
      done(line) {
        stream.write(`\r${line}\x1b[K\n`);
      },
    };
  }
  let lastTenth = -1;
  return {
    update(epoch, r) {
      const tenth = Math.floor((10 * r.step) / r.steps);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${describe(epoch, r)}\n`);
    },
    done(line) {
      lastTenth = -1;
      stream.write(`${line}\n`);
    },
  };
}
