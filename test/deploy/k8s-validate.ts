// Validates Kubernetes objects against the OpenAPI schemas bundled in `kubernetes-models` (core kinds) and
// `@kubernetes-models/prometheus-operator` (the ServiceMonitor CRD's schema), offline: each model's
// validate() runs the JSON schema generated from the Kubernetes OpenAPI spec (types, required fields,
// enums, patterns, int-or-string). Not checked: unknown fields (the generated schemas allow them; the API
// server's strict field validation, `kubectl apply --validate=strict`, does not run here), so a misspelt
// optional key passes; the tests below assert the keys that matter (probes, grace, securityContext) by value.

import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

type Model = { validate(): void };
const KINDS: Record<string, new (data: any) => Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

export function kindOf(obj: unknown): string {
  const o = obj as { apiVersion?: unknown; kind?: unknown };
  return `${String(o.apiVersion)}/${String(o.kind)}`;
}

/** Throws with the validator's message when the object does not match its kind's schema (or the kind is unknown). */
export function validateObject(obj: unknown): void {
  const Kind = KINDS[kindOf(obj)];
  if (!Kind) throw new Error(`no schema for ${kindOf(obj)}`);
  new Kind(obj).validate();
}
