/**
 * The operations HTTP surface on node:http: /metrics, /healthz, /readyz, the status page and
 * /status.json. Read-only: only GET and HEAD are served, and nothing here changes the App.
 * Loopback by default (`http.listen`); it is meant for a local Prometheus, a container probe, or an
 * SSH tunnel, so there is no authentication, and the page carries a CSP that forbids any script.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../log.js';
import { Metrics } from './metrics.js';
import { renderPage } from './page.js';
import { buildView, notReadyReasons, type OpsSource } from './view.js';

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
} as const;

/** Open connections at most; past it the oldest one without a request in progress is closed. */
export const MAX_CONNECTIONS = 64;
/** A client must have sent its request headers by then (slowloris: headers dribbled byte by byte). */
export const HEADERS_TIMEOUT_MS = 2000;

/** "127.0.0.1:9108", "[::1]:9108", "localhost:9108" -> host and port (the schema checked the shape). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`http.listen: expected ADDRESS:PORT, got "${listen}"`);
  return { host: m[1] ?? m[2] ?? '', port };
}

export class OpsServer {
  private readonly server: Server;
  private readonly metrics: Metrics;
  /** Open sockets, oldest first (a Set keeps insertion order), and those with a request in progress. */
  private readonly open = new Set<Socket>();
  private readonly busy = new Set<Socket>();
  /** Connections closed to make room for new ones since start. */
  shed = 0;
  private shedLoggedAt = -Infinity;
  private sampler: NodeJS.Timeout | undefined;

  constructor(
    private readonly src: OpsSource,
    private readonly log: Logger,
  ) {
    this.metrics = new Metrics(src);
    // Timeouts are checked every connectionsCheckingInterval (30 s by default in Node): slow
    // clients would hold their sockets far past headersTimeout without a tighter check.
    this.server = createServer({ connectionsCheckingInterval: 250, headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: 5000, keepAliveTimeout: 5000 }, (req, res) => {
      const sock = req.socket;
      this.busy.add(sock);
      res.once('close', () => this.busy.delete(sock));
      this.handle(req, res).catch((e: unknown) => {
        this.log.error({ err: (e as Error).message, url: req.url }, 'http handler failed');
        if (!res.headersSent) this.send(res, req, 500, 'text/plain; charset=utf-8', 'internal error\n');
        else res.destroy();
      });
    });
    // A hard cap (server.maxConnections) would turn 64 slow clients away and the probe with them:
    // instead a new connection evicts the oldest one that is only sending headers or idling, so
    // /healthz gets an answer whatever a few slow or hostile clients do.
    this.server.on('connection', (sock: Socket) => {
      this.open.add(sock);
      sock.once('close', () => {
        this.open.delete(sock);
        this.busy.delete(sock);
      });
      if (this.open.size > MAX_CONNECTIONS) this.evictOne(sock);
    });
  }

  private evictOne(keep: Socket): void {
    for (const s of this.open) {
      if (s === keep || this.busy.has(s)) continue;
      this.open.delete(s);
      s.destroy();
      this.shed++;
      const now = Date.now();
      if (now - this.shedLoggedAt >= 60_000) {
        this.shedLoggedAt = now;
        this.log.warn({ max_connections: MAX_CONNECTIONS, shed_total: this.shed }, 'too many HTTP connections: closed the oldest idle or slow one');
      }
      return;
    }
  }

  /** Binds `listen`; rejects with a message naming the address when it is taken or not ours. */
  async listen(listen: string): Promise<number> {
    const { host, port } = parseListen(listen);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const why =
          e.code === 'EADDRINUSE'
            ? 'the address is already in use (another netvigil or another service?); set http.listen or --http-listen to a free port'
            : e.code === 'EADDRNOTAVAIL'
              ? 'no interface on this machine has that address'
              : e.code === 'EACCES'
                ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE'
                : e.message;
        reject(new Error(`cannot serve HTTP on ${listen}: ${why}`, { cause: e }));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (e) => this.log.error({ err: e.message }, 'http server error'));
    const history = this.src.history;
    if (history) {
      history.sample(buildView(this.src));
      this.sampler = setInterval(() => history.sample(buildView(this.src)), history.stepMs).unref();
    }
    const bound = this.port ?? port;
    this.log.info({ listen, port: bound }, 'serving /metrics, /healthz, /readyz and the status page');
    return bound;
  }

  get port(): number | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : undefined;
  }

  async close(): Promise<void> {
    clearInterval(this.sampler);
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // keep-alive sockets of a scraper would otherwise hold close() open until they time out
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      this.send(res, req, 405, 'text/plain; charset=utf-8', 'read-only: GET or HEAD\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    switch (path) {
      case '/metrics':
        this.send(res, req, 200, this.metrics.contentType, await this.metrics.render());
        return;
      case '/healthz':
        // answering at all is the proof: the process runs and its event loop turns
        this.send(res, req, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz':
        // probed often: the full snapshot is only built to say why not
        if (this.src.ready()) this.send(res, req, 200, 'text/plain; charset=utf-8', 'ready\n');
        else this.send(res, req, 503, 'text/plain; charset=utf-8', `not ready\n${notReadyReasons(buildView(this.src)).join('\n')}\n`);
        return;
      case '/':
      case '/status':
        this.send(res, req, 200, 'text/html; charset=utf-8', renderPage(buildView(this.src), 10, this.src.history?.view()));
        return;
      case '/status.json':
        this.send(res, req, 200, 'application/json; charset=utf-8', JSON.stringify(buildView(this.src), null, 1) + '\n');
        return;
      default:
        this.send(res, req, 404, 'text/plain; charset=utf-8', 'not found: try /, /status.json, /metrics, /healthz or /readyz\n');
    }
  }

  private send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: string): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}
