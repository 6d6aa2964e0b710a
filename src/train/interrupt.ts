// Ctrl-C for a training command. The first SIGINT asks the run to stop where nothing is
// lost: before its first step (nothing trained yet), or after the step in flight, with a
// checkpoint (see TrainOptions.signal). Once a step has run, no further Ctrl-C ends the
// process before that checkpoint is written; before then, a second one quits at once.
//
// The listener stays installed until the process ends, and the process ends by
// process.exit(), not by letting Node tear itself down. Node restores SIGINT's default
// action when the last listener goes, and while it frees the environment on a natural
// exit (it closes every handle; then Dawn and lavapipe tear down: 60-90 ms here), and a
// Ctrl-C in such a window kills the process by the signal instead of letting it exit 130.
// (With process.once, a second Ctrl-C left no listener and called process.exit, whose
// teardown took up to 1.5 s under load; a third Ctrl-C then killed the process.)

export interface Interrupt {
  /** Aborted by the first Ctrl-C: hand it to train(). */
  readonly signal: AbortSignal;
  /** Call as the first step starts (TrainOptions.onFirstStep): from then on a Ctrl-C never
   *  ends the process before the checkpoint is written. */
  readonly training: () => void;
}

export function interruptOnSigint(warn: (line: string) => void = (line) => console.error(line)): Interrupt {
  const controller = new AbortController();
  let training = false;
  process.on('SIGINT', () => {
    if (!controller.signal.aborted) {
      controller.abort();
      warn(
        training
          ? '\nstopping after this step, with a checkpoint...'
          : '\nstopping before training starts (Ctrl-C again to quit at once)...',
      );
    } else if (!training) {
      process.exit(130); // nothing trained, nothing to lose
    } else {
      warn('already stopping: the checkpoint is written before the process exits (Ctrl-\\ abandons it)');
    }
  });
  // The loop is empty (the device released, every file written): exit here, with the
  // listener still installed, rather than through Node's teardown (see above).
  process.once('beforeExit', () =>
    process.exit(controller.signal.aborted && !process.exitCode ? 130 : process.exitCode),
  );
  return {
    signal: controller.signal,
    training: () => {
      training = true;
    },
  };
}
