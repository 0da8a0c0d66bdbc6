/** Bytes from hex text: whitespace ignored, '#' starts a comment (the testcases' input-NN.hex format). */
export function hexToBytes(text: string): Uint8Array {
  const clean = text.replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error('hex file has an odd number of digits or a non-hex character');
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}
