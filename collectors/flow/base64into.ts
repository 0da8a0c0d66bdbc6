/**
 * Base64 (RFC 4648 §4) written into a caller's buffer instead of a new string: the checkpoint
 * encodes four 100 k-slot Float64Arrays per talker table every 5 s, and Buffer#toString('base64')
 * made each a 1 MiB string (a large object at once) or, in pieces, young garbage that brought
 * more scavenges (bench/flow-e2e/README.md, "Stalls").
 */
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const PAD = 0x3d; // '='
/** Two output characters per 12 input bits, stored as one 16-bit write in the host's byte order. */
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const PAIRS = Uint16Array.from({ length: 4096 }, (_, i) => {
  const [a, b] = [ALPHABET[i >> 6] as number, ALPHABET[i & 63] as number];
  return LITTLE ? a | (b << 8) : (a << 8) | b;
});

/** Bytes of base64 for `n` input bytes. */
export const base64Length = (n: number): number => Math.ceil(n / 3) * 4;

/**
 * Encodes `src` into `out` (at least base64Length(src.length) long, at an even byte offset) and
 * returns the length written.
 * Pieces of a longer input join into the base64 of the whole only when every piece but the last
 * is a multiple of 3 bytes long (padding comes only at the end).
 */
export function base64Into(src: Uint8Array, out: Uint8Array): number {
  if (out.byteOffset & 1) throw new Error('base64Into: the output must start at an even byte offset');
  const whole = src.length - (src.length % 3);
  const pairs = new Uint16Array(out.buffer, out.byteOffset, out.length >> 1);
  let w = 0;
  for (let i = 0; i < whole; i += 3) {
    const v = ((src[i] as number) << 16) | ((src[i + 1] as number) << 8) | (src[i + 2] as number);
    pairs[w] = PAIRS[v >>> 12] as number;
    pairs[w + 1] = PAIRS[v & 4095] as number;
    w += 2;
  }
  let o = w * 2;
  const rest = src.length - whole;
  if (rest > 0) {
    const v = ((src[whole] as number) << 16) | (rest === 2 ? (src[whole + 1] as number) << 8 : 0);
    out[o] = ALPHABET[v >>> 18] as number;
    out[o + 1] = ALPHABET[(v >>> 12) & 63] as number;
    out[o + 2] = rest === 2 ? (ALPHABET[(v >>> 6) & 63] as number) : PAD;
    out[o + 3] = PAD;
    o += 4;
  }
  return o;
}
