/**
 * deploy/kubernetes without a cluster (none runs here or in CI): every manifest is checked against
 * the Kubernetes OpenAPI schemas that `kubernetes-models` generates its validators from (the same
 * field types and required fields the API server enforces, not its admission logic); where a
 * `kubectl` binary exists, `kubectl kustomize` builds the kustomization offline and its output is
 * validated too. The rest are cross-references a schema cannot see: ports, probes, names, the
 * image's user, and the config being the compose stack's.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';

const DIR = join(import.meta.dirname, '..', 'deploy', 'kubernetes');
type Obj = Record<string, unknown> & { kind: string; metadata: { name: string } };
const MODELS: Record<string, new (o: never) => { validate(): void }> = { ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount, Deployment };

const kust = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[]; configMapGenerator: { name: string; files: string[] }[] };
const docs: Obj[] = kust.resources.flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJS() as Obj));
const find = (kind: string, name: string): Obj => {
  const o = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} not in the manifests`);
  return o;
};

function validate(o: Obj): void {
  const Model = MODELS[o.kind];
  if (!Model) throw new Error(`no schema for kind ${o.kind}`);
  new Model(o as never).validate();
}

interface Container {
  ports: { name: string; containerPort: number; protocol: string }[];
  env: { name: string; value?: string }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
}
const deploy = find('Deployment', 'netvigil') as Obj & {
  spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; securityContext: { runAsUser: number }; containers: Container[]; volumes: { name: string; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[] } } };
};
const pod = deploy.spec.template.spec;
const c = pod.containers[0] as Container;

describe('Kubernetes manifests', () => {
  it('every object is valid against the Kubernetes schemas', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(['Deployment', 'Namespace', 'PersistentVolumeClaim', 'Service', 'Service', 'ServiceAccount']);
    for (const d of docs) expect(() => validate(d), `${d.kind}/${d.metadata.name}`).not.toThrow();
    // the validator is not a pass-through: a port given as text is refused
    const broken = structuredClone(deploy) as typeof deploy;
    (broken.spec.template.spec.containers[0] as unknown as { ports: { containerPort: unknown }[] }).ports[0]!.containerPort = '2055';
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
  });

  it.skipIf(!existsSync('/usr/bin/kubectl'))('kubectl kustomize builds them, config map included, and the output validates', () => {
    const out = execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', timeout: 30_000 });
    const built = parseAllDocuments(out).map((d) => d.toJS() as Obj);
    for (const b of built) expect(() => validate(b), `${b.kind}/${b.metadata.name}`).not.toThrow();
    const cm = built.find((b) => b.kind === 'ConfigMap') as Obj & { data: Record<string, string> };
    expect(Object.keys(cm.data).sort()).toEqual(['collector.yaml', 'devices.yaml']);
    // the generated name carries a content hash, and the Deployment is rewritten to it
    const dep = built.find((b) => b.kind === 'Deployment') as typeof deploy;
    expect(dep.spec.template.spec.volumes.find((v) => v.name === 'config')?.configMap?.name).toBe(cm.metadata.name);
    expect(built.every((b) => b.kind === 'Namespace' || (b.metadata as { namespace?: string }).namespace === 'netvigil')).toBe(true);
  });

  it('ports are the ones collector.yaml listens on, and Services point at named container ports', () => {
    const cfg = parse(readFileSync(join(DIR, 'collector.yaml'), 'utf8')) as { collectors: { flow: { listen: { port: number }[] }; snmptrap: { port: number } } };
    const udp = c.ports.filter((p) => p.protocol === 'UDP').map((p) => p.containerPort).sort();
    expect(udp).toEqual([...cfg.collectors.flow.listen.map((l) => l.port), cfg.collectors.snmptrap.port].sort());
    const http = c.ports.find((p) => p.name === 'http');
    expect(c.env.find((e) => e.name === 'NETVIGIL_HTTP_LISTEN')?.value).toBe(`0.0.0.0:${http?.containerPort}`);
    expect([c.livenessProbe.httpGet, c.readinessProbe.httpGet]).toEqual([{ path: '/healthz', port: 'http' }, { path: '/readyz', port: 'http' }]);
    const names = new Set(c.ports.map((p) => p.name));
    for (const svc of docs.filter((d) => d.kind === 'Service') as (Obj & { spec: { selector: Record<string, string>; ports: { targetPort: string; port: number }[] } })[]) {
      expect(svc.spec.selector).toEqual(deploy.spec.selector.matchLabels);
      for (const p of svc.spec.ports) expect(names, `${svc.metadata.name} -> ${p.targetPort}`).toContain(p.targetPort);
    }
    const udpSvc = find('Service', 'netvigil-udp') as Obj & { spec: { externalTrafficPolicy: string; ports: { name: string; port: number }[] } };
    expect(udpSvc.spec.externalTrafficPolicy).toBe('Local');
    expect(udpSvc.spec.ports.find((p) => p.name === 'snmptrap')?.port).toBe(162);
  });

  it('names resolve, the pod runs as the image user, and the config is the compose stack\'s', () => {
    expect(deploy.spec.template.metadata.labels).toMatchObject(deploy.spec.selector.matchLabels);
    expect(find('ServiceAccount', pod.serviceAccountName)).toBeTruthy();
    const vols = new Map(pod.volumes.map((v) => [v.name, v]));
    for (const m of c.volumeMounts) expect(vols.has(m.name), m.name).toBe(true);
    expect(vols.get('config')?.configMap?.name).toBe(kust.configMapGenerator[0]?.name);
    expect(find('PersistentVolumeClaim', vols.get('data')?.persistentVolumeClaim?.claimName ?? '')).toBeTruthy();
    expect(c.volumeMounts.find((m) => m.name === 'config')?.mountPath).toBe('/etc/netvigil');
    const dockerfile = readFileSync(join(import.meta.dirname, '..', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`USER ${pod.securityContext.runAsUser}`);
    expect(dockerfile).toContain(`NETVIGIL_DATA_DIR=${c.volumeMounts.find((m) => m.name === 'data')?.mountPath}`);
    for (const f of kust.configMapGenerator[0]?.files ?? []) {
      expect(parse(readFileSync(join(DIR, f), 'utf8')), f).toEqual(parse(readFileSync(join(DIR, '..', 'netvigil', f), 'utf8')));
    }
  });
});
