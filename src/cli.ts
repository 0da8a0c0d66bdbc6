#!/usr/bin/env node
import { runDecode } from '../collectors/index.js';
import type { Io } from './commands/common.js';
import { EXIT } from './commands/exit-codes.js';
import { HEALTH_HELP, runHealth } from './commands/health.js';
import { RUN_HELP, runRun } from './commands/run.js';
import { VALIDATE_HELP, runValidate } from './commands/validate.js';
import { configJsonSchema } from './config/jsonschema.js';
import { ConfigError } from './errors.js';
import { runDoctor } from './monitor/doctor.js';
import { packageVersion } from './version.js';

interface Command {
  summary: string;
  help: string;
  run(args: string[], io: Io): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: 'run the collector (default config: the shipped config/collector.yaml)', help: RUN_HELP, run: runRun },
  validate: { summary: 'check a config file and list every problem', help: VALIDATE_HELP, run: runValidate },
  decode: {
    summary: 'decode flow captures offline (pcap, pcapng, raw datagrams) to JSON lines or line protocol',
    help: `Usage: netvigil decode [--format jsonl|lp] FILE...

Decodes NetFlow v5/v9, IPFIX and sFlow v5 from pcap and pcapng captures (UDP payloads; the exporter
is the packet's source address and port) and from raw payload files (one datagram each, decoded in
the given order as one exporter session). Values are unscaled. Malformed input is reported on stderr
with file, packet number, offset and field. Exit 0 when some records decoded, 1 when the input could
not be read.`,
    run: (args, io) => runDecode(args, io),
  },
  doctor: {
    summary: 'one-shot report: is this machine (VM, container) fit to collect?',
    help: `Usage: netvigil doctor [--json] [--root DIR] [--want-rcvbuf SIZE] [--sample DURATION]

Checks virtualization, vCPUs, clock source and sync, CPU steal and event-loop stalls over a short
sample, net.core.rmem_max against the receive buffer collectors want, swap, NIC drivers and cgroup
limits. Each line says ok, warn or fail and what to do. Exit 1 when a check fails.
  --json               machine-readable output
  --root DIR           read /proc and /sys under DIR (for recorded snapshots)
  --want-rcvbuf SIZE   receive buffer the flow collectors ask for (default 32MiB)
  --sample DURATION    how long to sample steal and stalls (default 2s)`,
    run: (args, io) => runDoctor(args, io),
  },
  health: { summary: 'exit 0 if a running collector is alive and its sinks ready (HEALTHCHECK)', help: HEALTH_HELP, run: runHealth },
  schema: {
    summary: 'print the JSON Schema of the config file (for editors)',
    help: 'Usage: netvigil schema\n\nPrints the JSON Schema that config/collector.schema.json holds.',
    run: async (_args, io) => (io.stdout.write(configJsonSchema()), 0),
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)}${c.summary}`);
  return `netvigil — passive network telemetry collector (NetFlow/IPFIX, sFlow, SNMP) for VMs and containers

Usage: netvigil <command> [options]

Commands:
${lines.join('\n')}

Run 'netvigil <command> --help' for a command's options, 'netvigil --version' for the version.
First time? 'netvigil run --demo' sends itself a few seconds of NetFlow and sFlow on loopback.
Exit codes: 0 ok, 1 config invalid or check failed, 2 usage, 3 runtime failure (e.g. port in use), 70 bug.
`;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(usage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`netvigil ${packageVersion()} (Node.js ${process.versions.node})\n`);
    return EXIT.OK;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.stderr.write(`netvigil: unknown command '${name}'\n\n${usage()}`);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(cmd.help + '\n');
    return EXIT.OK;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    // One clear line, and a code that says whose mistake it was.
    if (e instanceof ConfigError) {
      io.stderr.write(`${e.message}\n`);
      return EXIT.CONFIG;
    }
    io.stderr.write(`netvigil ${name}: ${(e as Error).message}\n`);
    return String((e as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS') ? EXIT.USAGE : EXIT.RUNTIME;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let the logger flush; timers of libraries (e.g. HTTP keep-alive) must not hold the process open.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e: unknown) => {
    process.stderr.write(`netvigil: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(EXIT.INTERNAL);
  },
);
