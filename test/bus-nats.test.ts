/**
 * Scale-out on NATS JetStream with the lease TTL the README asks for on a cluster: the node-kill run
 * of test/helpers/nodekill.ts (a 3-node cluster, 2 receivers, 3 processors, one processor and the
 * stream's leading NATS node killed mid-stream; every flow counted exactly once).
 *
 * Above 1.5 JetStream leader elections: the NATS node killed may lead the leases bucket, which then
 * takes no write for 4-9 s (raft election timeout in nats-server 2.9) plus a campaign, and a
 * processor that cannot renew for two thirds of the TTL fences itself (test/bus-nats-shortttl.test.ts
 * runs the same with a TTL shorter than that).
 */
import { nodeKillSuite } from './helpers/nodekill.js';

nodeKillSuite(16_000, { pollers: true });
