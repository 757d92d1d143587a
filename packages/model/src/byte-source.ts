/**
 * Random access to the bytes of a model file, so that loaders read headers and tensors where they
 * are instead of copying the whole file into one buffer. In Node, `fileSource` (from the package's
 * Node entry) reads a file on disk; anywhere, {@link blobSource} reads a `Blob` or `File`, and
 * {@link bytesSource} an in-memory array.
 */
export interface ByteSource {
  /** The file name or path, used in error messages. */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** `length` bytes from `offset`; fewer only where the source ends. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying handle, if any. */
  close?(): Promise<void>;
}

/** A {@link ByteSource} over a `Blob` or `File` (browsers, Deno, Bun, Node). */
export function blobSource(
  blob: Blob,
  name = blob instanceof File ? blob.name : 'blob',
): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** A {@link ByteSource} over bytes already in memory (tests, generated models). */
export function bytesSource(bytes: Uint8Array, name = 'memory'): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      return bytes.subarray(offset, Math.min(bytes.byteLength, offset + length));
    },
  };
}
