/**
 * Many datagrams in one bus message, each with the exporter's address and port and our receive
 * time (the processor decodes as if it had received it then). Layout, big-endian:
 *   u8 version (1), then per datagram:
 *   u8 address length, address (ASCII text), u16 port, f64 receive time (Unix ms), u32 length, bytes
 */

export const FRAME_VERSION = 1;
/** Port, receive time and length after the address. */
const HEAD = 2 + 8 + 4;

export class FrameBuilder {
  private buf: Buffer;
  private len = 1;
  count = 0;
  /** Receive time of the first datagram (the batch's age decides when it goes). */
  firstAt = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
    this.buf[0] = FRAME_VERSION;
  }

  get bytes(): number {
    return this.len;
  }

  /** Space a datagram takes in a frame. */
  static size(address: string, datagram: Uint8Array): number {
    return 1 + address.length + HEAD + datagram.byteLength;
  }

  add(datagram: Uint8Array, address: string, port: number, receivedAt: number): void {
    const need = FrameBuilder.size(address, datagram);
    if (this.len + need > this.buf.length) {
      const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + need));
      this.buf.copy(b, 0, 0, this.len);
      this.buf = b;
    }
    if (this.count === 0) this.firstAt = receivedAt;
    let o = this.len;
    o = this.buf.writeUInt8(address.length, o);
    o += this.buf.write(address, o, 'latin1');
    o = this.buf.writeUInt16BE(port, o);
    o = this.buf.writeDoubleBE(receivedAt, o);
    o = this.buf.writeUInt32BE(datagram.byteLength, o);
    this.buf.set(datagram, o);
    this.len = o + datagram.byteLength;
    this.count++;
  }

  /** The frame so far (a copy), and the builder emptied for the next one. */
  take(): Uint8Array {
    const out = Uint8Array.prototype.slice.call(this.buf, 0, this.len);
    this.len = 1;
    this.count = 0;
    return out;
  }
}

export type DatagramHandler = (datagram: Uint8Array, address: string, port: number, receivedAt: number) => void;

/**
 * Calls `each` for every datagram in a frame; the datagram is a view into `frame`. Returns the
 * count; throws on a frame that is cut short or of another version (the caller counts it).
 */
export function readFrame(frame: Uint8Array, each: DatagramHandler): number {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.byteLength < 1 || v.getUint8(0) !== FRAME_VERSION) throw new Error(`bus frame: version ${frame.byteLength ? v.getUint8(0) : 'missing'}, expected ${FRAME_VERSION}`);
  let o = 1;
  let n = 0;
  const dec = new TextDecoder('latin1');
  while (o < frame.byteLength) {
    const alen = v.getUint8(o);
    if (o + 1 + alen + HEAD > frame.byteLength) throw new Error(`bus frame: datagram header cut short at offset ${o}`);
    const address = dec.decode(frame.subarray(o + 1, o + 1 + alen));
    o += 1 + alen;
    const port = v.getUint16(o);
    const at = v.getFloat64(o + 2);
    const len = v.getUint32(o + 10);
    o += HEAD;
    if (o + len > frame.byteLength) throw new Error(`bus frame: datagram of ${len} bytes cut short at offset ${o}`);
    each(frame.subarray(o, o + len), address, port, at);
    o += len;
    n++;
  }
  return n;
}
