// Reading a file whose bytes a decoder takes next, with the failure said in the decoder's
// own error type: "is a directory, not <what>" or "cannot be read (ENOENT)".
import { readFile } from 'node:fs/promises';

export async function readFileFor(
  path: string,
  what: string,
  fail: (path: string, reason: string) => Error,
): Promise<Buffer> {
  return readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw fail(path, e.code === 'EISDIR' ? `is a directory, not ${what}` : `cannot be read (${e.code ?? e.message})`);
  });
}
