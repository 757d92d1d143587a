import type { ByteSource } from '../byte-source.js';
import { ModelFileError } from '../errors.js';

/** Bytes fetched from the source at a time while parsing the header. */
const CHUNK = 1 << 20;

/**
 * Sequential little-endian reads over a {@link ByteSource}, fetched in chunks. Every read checks
 * that the bytes exist, so a truncated file fails at the field it ends in, naming `context`.
 */
export class Cursor {
  private buffer = new Uint8Array(0);
  private view = new DataView(this.buffer.buffer);
  /** File offset of `buffer[0]`. */
  private base = 0;
  /** File offset of the next read. */
  offset = 0;
  /** What is being read, for error messages. */
  context = 'the header';
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(readonly source: ByteSource) {}

  /** Bytes left in the file after the read position. */
  get remaining(): number {
    return this.source.size - this.offset;
  }

  truncated(): ModelFileError {
    return new ModelFileError(
      `the file ends inside ${this.context} (offset ${this.offset}, file size ${this.source.size})`,
      'MODEL_TRUNCATED',
      { file: this.source.name },
    );
  }

  /** Makes `n` bytes at the read position available; returns their index in `buffer`. */
  private async need(n: number): Promise<number> {
    if (n > this.remaining) throw this.truncated();
    const at = this.offset - this.base;
    if (at + n > this.buffer.byteLength) {
      const kept = at < this.buffer.byteLength ? this.buffer.subarray(at) : new Uint8Array(0);
      const more = await this.source.read(
        this.offset + kept.byteLength,
        Math.max(n - kept.byteLength, CHUNK),
      );
      const next = new Uint8Array(kept.byteLength + more.byteLength);
      next.set(kept);
      next.set(more, kept.byteLength);
      this.buffer = next;
      this.view = new DataView(next.buffer);
      this.base = this.offset;
      if (next.byteLength < n) throw this.truncated();
      return this.advance(0, n);
    }
    return this.advance(at, n);
  }

  private advance(at: number, n: number): number {
    this.offset += n;
    return at;
  }

  async u8(): Promise<number> {
    const at = await this.need(1);
    return this.view.getUint8(at);
  }
  async i8(): Promise<number> {
    const at = await this.need(1);
    return this.view.getInt8(at);
  }
  async u16(): Promise<number> {
    const at = await this.need(2);
    return this.view.getUint16(at, true);
  }
  async i16(): Promise<number> {
    const at = await this.need(2);
    return this.view.getInt16(at, true);
  }
  async u32(): Promise<number> {
    const at = await this.need(4);
    return this.view.getUint32(at, true);
  }
  async i32(): Promise<number> {
    const at = await this.need(4);
    return this.view.getInt32(at, true);
  }
  async f32(): Promise<number> {
    const at = await this.need(4);
    return this.view.getFloat32(at, true);
  }
  async f64(): Promise<number> {
    const at = await this.need(8);
    return this.view.getFloat64(at, true);
  }
  async u64(): Promise<bigint> {
    const at = await this.need(8);
    return this.view.getBigUint64(at, true);
  }
  async i64(): Promise<bigint> {
    const at = await this.need(8);
    return this.view.getBigInt64(at, true);
  }

  /** A string: u64 (u32 in GGUF v1) byte length, then UTF-8 bytes, decoded as written (BOM kept). */
  async string(version: number): Promise<string> {
    const length = version === 1 ? await this.u32() : await this.u64();
    if (length > BigInt(this.remaining)) throw this.truncated();
    const n = Number(length);
    const at = await this.need(n);
    return this.decoder.decode(this.buffer.subarray(at, at + n));
  }
}
