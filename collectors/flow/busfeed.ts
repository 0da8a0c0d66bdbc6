/**
 * The flow collector's side of scale-out (src/bus/): in the processor role its datagrams come off
 * the bus, and the templates and options it learns are shared there, so a processor that takes an
 * exporter's partition over decodes its next datagram without waiting for a template resend.
 */
import type { DatagramFeed } from '../../src/collector.js';
import type { OptionsState } from '../netflow/options.js';
import type { TemplateStore } from '../netflow/templates.js';
import { flowHandoff } from './handoff.js';
import type { FlowProcessor } from './processor.js';
import type { RawSeq } from './rawseq.js';

interface SharedState {
  templates?: unknown;
  options?: unknown;
}

/** Processor role: starts taking datagrams off the bus. */
export async function consumeFeed(feed: DatagramFeed | undefined, processor: FlowProcessor, store: TemplateStore, discard: () => number, raw?: RawSeq): Promise<void> {
  if (!feed?.consume) return;
  await feed.consume(
    (d, address, port, receivedAt) => processor.handle(d, address, port, receivedAt),
    (doc) => {
      const s = doc as SharedState;
      if (s.templates !== undefined) store.load(s.templates, Date.now());
      if (s.options !== undefined) processor.options.load(s.options);
    },
    discard,
    flowHandoff(processor, raw),
  );
}

/** Shares templates and options when either changed (cheap when neither did). */
export function shareState(feed: DatagramFeed | undefined, store: TemplateStore, options: OptionsState): void {
  if (!feed?.consume || !(store.dirty || options.dirty)) return;
  feed.share({ templates: store.serialize(), options: options.serialize() } satisfies SharedState);
}
