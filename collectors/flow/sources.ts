/**
 * Per-datagram facts about a source that only change with the source: the exporter address made
 * from the socket's address text (`::ffff:a.b.c.d` is a.b.c.d), the allowlist's verdict, the
 * exporter's counters, and the template session name (exporter:port, RFC 7011 §8 / RFC 3954 §5.1).
 * Node hands every datagram a new address string; looking it up here once replaces the prefix
 * test, the allowlist walk, the counters lookup and a string built and hashed per datagram. The
 * last source found answers without a lookup (an exporter sends runs of datagrams), and the same
 * session string object each time lets the template store's memo compare by identity.
 */
export interface Source<S> {
  readonly exporter: string;
  readonly allowed: boolean;
  /** The exporter's counters, once it has them (undefined past the exporter cap). */
  st: S | undefined;
  port: number;
  session: string;
}

export class Sources<S> {
  private readonly byText = new Map<string, Source<S>>();
  private lastText = '';
  private last: Source<S> | undefined;

  /** `max`: sources kept; past it a source is made afresh per datagram (spoofed sources cost memory nothing). */
  constructor(private readonly max: number) {}

  get(text: string): Source<S> | undefined {
    if (text === this.lastText && this.last !== undefined) return this.last;
    const s = this.byText.get(text);
    if (s !== undefined) {
      this.lastText = text;
      this.last = s;
    }
    return s;
  }

  add(text: string, exporter: string, allowed: boolean): Source<S> {
    const s: Source<S> = { exporter, allowed, st: undefined, port: -1, session: '' };
    if (this.byText.size < this.max) this.byText.set(text, s);
    return s;
  }

  /** The template session of a datagram from `port`: built when the port changes. */
  session(s: Source<S>, port: number): string {
    if (s.port !== port) {
      s.port = port;
      s.session = `${s.exporter}:${port}`;
    }
    return s.session;
  }

  clear(): void {
    this.byText.clear();
    this.lastText = '';
    this.last = undefined;
  }
}
