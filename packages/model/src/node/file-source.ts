import { open } from 'node:fs/promises';
import type { ByteSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';

/**
 * A {@link ByteSource} over a file on disk, read with positioned reads (Node only).
 * @throws ModelFileError `MODEL_IO` when the file cannot be opened
 */
export async function fileSource(path: string): Promise<ByteSource> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new ModelFileError(`cannot open: ${(cause as Error).message}`, 'MODEL_IO', {
      file: path,
      cause,
    });
  }
  const { size } = await handle.stat();
  return {
    name: path,
    size,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === out.length ? out : out.subarray(0, done);
    },
    close: () => handle.close(),
  };
}
