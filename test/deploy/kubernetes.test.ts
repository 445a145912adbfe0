// deploy/kubernetes and deploy/helm/infergate: every object valid against the Kubernetes OpenAPI schemas
// (offline, kubernetes-models), the chart rendered by the helm-template subset, and the infergate.yaml
// inside each ConfigMap accepted by the project's own config parser with grace and probes consistent.

import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { cli } from '../cli/run.js';
import { tempConfig } from '../lifecycle/process.js';
import { renderChart } from './helm-template.js';
import { kindOf, validateObject } from './k8s-validate.js';
import { makeCa, makeCert, tempDir, writePem } from '../helpers/certs.js';

const ROOT = join(import.meta.dirname, '..', '..');
const KIT = join(ROOT, 'deploy', 'kubernetes');
const CHART = join(ROOT, 'deploy', 'helm', 'infergate');
const TOKEN_ENV = { INFERGATE_ADMIN_TOKEN: 'test-token-0123456789' };

type Obj = Record<string, any>;

function kitObjects(): Array<{ file: string; obj: Obj }> {
  return readdirSync(KIT)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(KIT, file), 'utf8')).map((doc) => {
        expect(doc.errors, file).toEqual([]);
        return { file, obj: doc.toJS() as Obj };
      }),
    );
}

function byKind(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
}

/** `tlsDir` stands in for the mounted TLS Secret (/etc/infergate-tls), whose files `check` reads. */
function configOf(cm: Obj, env: Record<string, string> = TOKEN_ENV, tlsDir?: string): Config {
  const text = cm.data?.['infergate.yaml'];
  expect(typeof text).toBe('string');
  const yaml = tlsDir === undefined ? (text as string) : (text as string).replaceAll('/etc/infergate-tls', tlsDir);
  const r = parseConfig(yaml, 'configmap:infergate.yaml', env);
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col}: ${e.message}`).join('\n'));
  return r.config;
}

/** The checks both the plain kit and the rendered chart must pass. */
function checkStack(objs: Obj[], gateName: string): void {
  for (const o of objs) expect(() => validateObject(o), kindOf(o)).not.toThrow();
  const deploy = byKind(objs, 'Deployment', gateName);
  const service = byKind(objs, 'Service', gateName);
  const pdb = byKind(objs, 'PodDisruptionBudget');
  const monitor = byKind(objs, 'ServiceMonitor');
  const cm = byKind(objs, 'ConfigMap');

  const config = configOf(cm);
  const pod = deploy.spec.template.spec;
  const [container] = pod.containers as Obj[];
  const ports = Object.fromEntries((container!.ports as Obj[]).map((p) => [p.name, p.containerPort]));
  // The listeners the config opens are the ports the pod declares, on every interface.
  expect(config.listeners.map((l) => [l.host, l.port])).toEqual([['0.0.0.0', ports.http]]);
  expect(config.admin.listen).toEqual({ host: '0.0.0.0', port: ports.admin });
  expect(config.admin.token).toBe('test-token-0123456789');
  // Probes on the admin listener: liveness /healthz, readiness /readyz.
  expect(container!.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
  expect(container!.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
  expect(container!.resources.requests).toBeDefined();
  expect(container!.resources.limits).toBeDefined();
  // kubelet SIGKILLs after terminationGracePeriodSeconds: it must cover grace + drain (and any preStop).
  const preStopMs = container!.lifecycle?.preStop?.sleep?.seconds * 1000 || 0;
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdown.graceMs + config.shutdown.drainTimeoutMs + preStopMs);
  // Non-root, read-only root filesystem; the writable paths are volumes.
  expect(pod.securityContext.runAsNonRoot).toBe(true);
  expect(container!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  const mounts = Object.fromEntries((container!.volumeMounts as Obj[]).map((m) => [m.mountPath, m.name]));
  expect(mounts['/etc/infergate']).toBe('config');
  expect(config.stateFile?.startsWith('/var/lib/infergate/')).toBe(true);
  expect(mounts['/var/lib/infergate']).toBe('state');
  const configVolume = (pod.volumes as Obj[]).find((v) => v.name === 'config');
  expect(configVolume?.configMap?.name).toBe(cm.metadata.name);
  // The token comes from a Secret, not from the manifest.
  const tokenEnv = (container!.env as Obj[]).find((e) => e.name === 'INFERGATE_ADMIN_TOKEN');
  expect(tokenEnv?.valueFrom?.secretKeyRef?.name).toBeTruthy();
  // Model servers found by DNS on a cluster-local (headless Service) name.
  const pool = [...config.pools.values()][0]!;
  expect(JSON.stringify(pool)).toMatch(/\.svc\.cluster\.local/);

  // The Service and the PDB select the pods; the ServiceMonitor selects the Service and scrapes /metrics on admin.
  const podLabels = deploy.spec.template.metadata.labels as Obj;
  expect(deploy.spec.selector.matchLabels).toEqual(expect.objectContaining({}));
  for (const sel of [service.spec.selector, pdb.spec.selector.matchLabels, deploy.spec.selector.matchLabels]) {
    for (const [k, v] of Object.entries(sel as Obj)) expect(podLabels[k], k).toBe(v);
  }
  expect((service.spec.ports as Obj[]).map((p) => [p.name, p.targetPort])).toEqual([
    ['http', 'http'],
    ['admin', 'admin'],
  ]);
  for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels as Obj)) expect(service.metadata.labels[k], k).toBe(v);
  expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'admin', path: '/metrics' })]);
}

describe('deploy/kubernetes', () => {
  it('every object is valid against its Kubernetes (or ServiceMonitor CRD) schema', () => {
    const objs = kitObjects();
    expect(objs.map((o) => kindOf(o.obj)).sort()).toEqual(
      ['apps/v1/Deployment', 'monitoring.coreos.com/v1/ServiceMonitor', 'policy/v1/PodDisruptionBudget', 'v1/ConfigMap', 'v1/Service', 'v1/Service'].sort(),
    );
    for (const { file, obj } of objs) expect(() => validateObject(obj), file).not.toThrow();
  });

  it('is a consistent stack: config parses, ports, probes, grace, security, selectors', () => {
    checkStack(
      kitObjects().map((o) => o.obj),
      'infergate',
    );
  });

  it('discovers the model servers through the headless Service the kit ships', () => {
    const objs = kitObjects().map((o) => o.obj);
    const headless = objs.find((o) => o.kind === 'Service' && o.spec.clusterIP === 'None')!;
    expect(headless).toBeDefined();
    const raw = parse(byKind(objs, 'ConfigMap').data['infergate.yaml']) as Obj;
    const discover = raw.pools.llm.discover as Obj;
    expect(discover.dns).toBe(`${headless.metadata.name}.${headless.metadata.namespace}.svc.cluster.local`);
    expect(discover.port).toBe(headless.spec.ports[0].port);
    expect(raw.pools.llm.health.preset).toBe('vllm');
    expect(raw.pools.llm.health.model.name).toBeTruthy();
  });

  it('refuses to start without the admin token (admin binds 0.0.0.0, the token has no default)', () => {
    const cm = byKind(
      kitObjects().map((o) => o.obj),
      'ConfigMap',
    );
    const r = parseConfig(cm.data['infergate.yaml'], 'cm.yaml', {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join('\n')).toMatch(/INFERGATE_ADMIN_TOKEN/);
  });

  it('kustomization.yaml lists every infergate object file', () => {
    const k = parse(readFileSync(join(KIT, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(k.resources.sort()).toEqual(['configmap.yaml', 'deployment.yaml', 'pdb.yaml', 'service.yaml', 'servicemonitor.yaml']);
  });

  it('the validator rejects what Kubernetes would (the test can fail)', () => {
    const deploy = structuredClone(byKind(kitObjects().map((o) => o.obj), 'Deployment'));
    deploy.spec.template.spec.containers[0].ports[0].containerPort = '8080x';
    expect(() => validateObject(deploy)).toThrow(/containerPort/);
    const noSelector = structuredClone(byKind(kitObjects().map((o) => o.obj), 'Deployment'));
    delete noSelector.spec.selector;
    expect(() => validateObject(noSelector)).toThrow(/selector/);
    const monitor = structuredClone(byKind(kitObjects().map((o) => o.obj), 'ServiceMonitor'));
    monitor.spec.endpoints[0].interval = '15 seconds';
    expect(() => validateObject(monitor)).toThrow(/interval/);
    expect(() => validateObject({ apiVersion: 'v1', kind: 'Pod2' })).toThrow(/no schema/);
  });
});

describe('infergate check (dist/cli.js) on the ConfigMaps', () => {
  const env = { ...process.env, ...TOKEN_ENV };
  it('passes for the kit and for the rendered chart', async () => {
    const kit = byKind(kitObjects().map((o) => o.obj), 'ConfigMap');
    const chart = byKind(renderChart(CHART, { name: 'gw' }).flatMap((f) => f.documents as Obj[]), 'ConfigMap');
    for (const cm of [kit, chart]) {
      expect(await cli(['check', '--config', tempConfig(cm.data['infergate.yaml'])], { env })).toEqual({ code: 0, stdout: 'configuration OK\n', stderr: '' });
    }
  });
});

describe('deploy/helm/infergate', () => {
  const objects = (overrides: unknown = {}): Obj[] => renderChart(CHART, { name: 'gw', namespace: 'edge' }, overrides).flatMap((f) => f.documents as Obj[]);

  it('renders with the default values into a valid, consistent stack', () => {
    const objs = objects();
    expect(objs.map(kindOf).sort()).toEqual(
      ['apps/v1/Deployment', 'monitoring.coreos.com/v1/ServiceMonitor', 'policy/v1/PodDisruptionBudget', 'v1/ConfigMap', 'v1/Service'].sort(),
    );
    checkStack(objs, 'gw');
  });

  it('renders pools, routes, TLS, resources and ports from values', async () => {
    const pools = {
      llm: { health: { preset: 'vllm' }, discover: { dns: 'vllm.models.svc.cluster.local', port: 8000 } },
      embed: { balance: 'round-robin', discover: { dns: 'tei.models.svc.cluster.local', port: 80, interval: '5s' } },
    };
    const routes = [{ match: { pathPrefix: '/embed' }, pool: 'embed' }, { pool: 'llm' }];
    const objs = objects({
      pools,
      routes,
      ports: { proxy: 80, admin: 9000 },
      tls: { enabled: true, secretName: 'gw-tls' },
      resources: { requests: { cpu: '1', memory: '1Gi' } },
      serviceMonitor: { enabled: false },
      podDisruptionBudget: { enabled: false },
      shutdown: { grace: '10s', drainTimeout: '60s' },
      terminationGracePeriodSeconds: 90,
    });
    expect(objs.map(kindOf).sort()).toEqual(['apps/v1/Deployment', 'v1/ConfigMap', 'v1/Service']);
    for (const o of objs) expect(() => validateObject(o), kindOf(o)).not.toThrow();
    const tlsDir = tempDir();
    writePem(tlsDir, 'tls', await makeCert(await makeCa()));
    const config = configOf(byKind(objs, 'ConfigMap'), TOKEN_ENV, tlsDir);
    expect([...config.pools.keys()].sort()).toEqual(['embed', 'llm']);
    // The TLS listener beside the plain one, on the Secret's files.
    expect(config.listeners.map((l) => [l.port, l.tls?.certFile ?? null])).toEqual([[80, null], [8443, `${tlsDir}/tls.crt`]]);
    expect(config.routes).toHaveLength(2);
    expect(config.listeners[0]!.port).toBe(80);
    expect(config.admin.listen.port).toBe(9000);
    expect(config.shutdown).toEqual({ graceMs: 10000, drainTimeoutMs: 60000 });
    const pod = byKind(objs, 'Deployment').spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(90);
    // Maps merge over values.yaml as with `helm -f`: the default limits stay.
    expect(pod.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '512Mi' } });
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'gw-tls' } });
    expect(byKind(objs, 'Service').spec.ports.map((p: Obj) => p.port)).toEqual([80, 8443, 9000]);
    expect(pod.containers[0].ports.map((p: Obj) => p.name)).toEqual(['http', 'https', 'admin']);
  });

  it('a pool value the config parser refuses fails the test (values are checked, not only rendered)', () => {
    const objs = objects({ pools: { llm: { balance: 'least_conn', discover: { dns: 'x.svc.cluster.local', port: 8000 } } } });
    expect(() => configOf(byKind(objs, 'ConfigMap'))).toThrow(/balance/);
  });

  it('the default grace values keep terminationGracePeriodSeconds above grace + drainTimeout', () => {
    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;
    const config = configOf(byKind(objects(), 'ConfigMap'));
    expect(values.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdown.graceMs + config.shutdown.drainTimeoutMs);
  });
});

describe('the Docker image config (config/infergate.yaml) in a container', () => {
  const text = readFileSync(join(ROOT, 'config', 'infergate.yaml'), 'utf8');
  it('admin stays on loopback by default', () => {
    const r = parseConfig(text, 'infergate.yaml', {});
    expect(r.ok && r.config.admin.listen).toEqual({ host: '127.0.0.1', port: 9901 });
  });
  it('INFERGATE_ADMIN_LISTEN opens it to probes and Prometheus, only with INFERGATE_ADMIN_TOKEN', () => {
    const open = parseConfig(text, 'infergate.yaml', { INFERGATE_ADMIN_LISTEN: '0.0.0.0:9901', INFERGATE_ADMIN_TOKEN: 'c2f6a1d09b7e4e55a3' });
    expect(open.ok && open.config.admin).toEqual({ listen: { host: '0.0.0.0', port: 9901 }, token: 'c2f6a1d09b7e4e55a3' });
    const noToken = parseConfig(text, 'infergate.yaml', { INFERGATE_ADMIN_LISTEN: '0.0.0.0:9901' });
    expect(noToken.ok).toBe(false);
    if (!noToken.ok) expect(noToken.errors.map((e) => e.message).join('\n')).toMatch(/not loopback: set admin.token/);
  });
});
