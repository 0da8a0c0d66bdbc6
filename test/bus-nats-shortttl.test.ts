/**
 * The node-kill run of test/helpers/nodekill.ts with `lease_ttl: 3s`, shorter than a NATS leader
 * election: when the killed node leads a bucket, processors cannot renew (or write their outbox) for
 * seconds, fence themselves (README "Scale-out", Fencing), drop their open intervals and take their
 * partitions again from the committed offsets. Every flow must still be counted exactly once.
 */
import { nodeKillSuite } from './helpers/nodekill.js';

nodeKillSuite(3_000);
