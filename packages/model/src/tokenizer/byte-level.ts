/**
 * GPT-2's reversible map between bytes and printable characters (`bytes_to_unicode`), used by
 * byte-level BPE vocabularies: a token's text is its bytes, each written as one of these characters
 * (`Ġ` for a space, `Ċ` for a newline).
 */
const BYTE_TO_CHAR: string[] = [];
const CHAR_TO_BYTE = new Map<string, number>();
{
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable =
      (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || byte >= 0xae;
    const char = String.fromCodePoint(printable ? byte : 256 + extra++);
    BYTE_TO_CHAR[byte] = char;
    CHAR_TO_BYTE.set(char, byte);
  }
}

const encoder = new TextEncoder();

/** The byte-level spelling of some bytes (each byte as its printable character). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += BYTE_TO_CHAR[byte];
  return out;
}

/**
 * The bytes a byte-level token stands for, as llama.cpp's `llama_decode_text` finds them: a
 * character outside the map becomes `[UNK_BYTE_0x…]` followed by the token text.
 */
export function byteLevelToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const byte = CHAR_TO_BYTE.get(char);
    if (byte !== undefined) {
      out.push(byte);
      continue;
    }
    const utf8 = encoder.encode(char);
    const hex = Array.from(utf8, (b) => b.toString(16).padStart(2, '0')).join('');
    out.push(...encoder.encode(`[UNK_BYTE_0x${hex}${text}]`));
  }
  return Uint8Array.from(out);
}
