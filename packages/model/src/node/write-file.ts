import { open } from 'node:fs/promises';

/** Writes byte chunks (from `encodeGguf`, `encodeSafetensors`, `syntheticGguf`) to a file, in order. */
export async function writeFileChunks(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (const chunk of chunks) await handle.write(chunk);
  } finally {
    await handle.close();
  }
}
