/**
 * deploy/k8s cannot be applied here (no cluster): check it offline instead.
 * - Schemas: every object against the OpenAPI schema of its kind, Kubernetes' own (the `kubernetes-models`
 *   package, generated from Kubernetes' published OpenAPI document) or KEDA's (`@kubernetes-models/keda`,
 *   generated from KEDA's API types, the source of its CRDs), compiled validators, no network.
 * - Unknown fields: the API server drops (or, with kubectl's strict validation, refuses) a misspelt
 *   field, so a `readinesProbe` would silently mean no probe. Those packages' TypeScript declarations
 *   come from the same schemas: every object is type-checked against its kind's interface, whose
 *   excess-property check names any field the schema does not have.
 * - The rules the issue sets (probes, grace above the shutdown deadline, autoscalers, KEDA on the queue,
 *   sticky Socket.IO, PodDisruptionBudgets, secrets from a Secret, requests from the benchmark) and
 *   agreement with the services' own configuration schemas.
 * A deliberately broken copy of the manifests must fail both checks.
 */

import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";
import { AI_QUEUE } from "@pipeline/messaging";

import { loadConfig } from "@pipeline/runtime/config";
import { QueueKeys } from "bullmq";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import ts from "typescript";
import type { z } from "zod";
import { workerConfigSchema } from "../services/ai-worker/src/config.ts";
import { gatewayConfigSchema } from "../services/gateway/src/config.ts";
import { ingestConfigSchema } from "../services/ingest/src/config.ts";
import { notifierConfigSchema } from "../services/notifier/src/config.ts";

const root = join(import.meta.dir, "..");
const K8S_DIR = join(root, "deploy", "k8s");

/** The kinds the manifests may use: the model that validates each, and its TypeScript interface. */
const KINDS: Record<string, { model: new (data: never) => { validate(): void }; module: string; type: string }> = {
  "v1/ConfigMap": { model: ConfigMap, module: "kubernetes-models/v1/ConfigMap", type: "IConfigMap" },
  "v1/Secret": { model: Secret, module: "kubernetes-models/v1/Secret", type: "ISecret" },
  "v1/Service": { model: Service, module: "kubernetes-models/v1/Service", type: "IService" },
  "v1/PersistentVolumeClaim": { model: PersistentVolumeClaim, module: "kubernetes-models/v1/PersistentVolumeClaim", type: "IPersistentVolumeClaim" },
  "apps/v1/Deployment": { model: Deployment, module: "kubernetes-models/apps/v1/Deployment", type: "IDeployment" },
  "autoscaling/v2/HorizontalPodAutoscaler": {
    model: HorizontalPodAutoscaler,
    module: "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler",
    type: "IHorizontalPodAutoscaler",
  },
  "policy/v1/PodDisruptionBudget": { model: PodDisruptionBudget, module: "kubernetes-models/policy/v1/PodDisruptionBudget", type: "IPodDisruptionBudget" },
  "networking.k8s.io/v1/Ingress": { model: Ingress, module: "kubernetes-models/networking.k8s.io/v1/Ingress", type: "IIngress" },
  "keda.sh/v1alpha1/ScaledObject": { model: ScaledObject, module: "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject", type: "IScaledObject" },
  "keda.sh/v1alpha1/TriggerAuthentication": {
    model: TriggerAuthentication,
    module: "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication",
    type: "ITriggerAuthentication",
  },
};

// Loose shapes for the rule checks below (the schemas above check the real ones).
interface Meta {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  [field: string]: unknown;
}
interface Probe {
  httpGet?: { path?: string; port: number | string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown };
}
interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface DeploymentObject extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: Container[];
        terminationGracePeriodSeconds?: number;
        volumes?: { name: string; persistentVolumeClaim?: { claimName: string; readOnly?: boolean } }[];
      };
    };
  };
}
interface ScaledObjectObject extends K8sObject {
  spec: {
    scaleTargetRef: { name: string; kind?: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: { type: string; name?: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
  };
}

/** The documents of one YAML file (a file may hold several, separated by `---`). */
function parseYaml(text: string): K8sObject[] {
  const parsed = Bun.YAML.parse(text) as K8sObject | K8sObject[] | null;
  return (Array.isArray(parsed) ? parsed : [parsed]).filter((doc): doc is K8sObject => doc !== null && typeof doc === "object");
}

/** Errors of each object against its kind's OpenAPI schema; an unknown kind is an error too. */
function schemaErrors(docs: K8sObject[]): string[] {
  return docs.flatMap((doc) => {
    const where = `${doc.kind ?? "?"} ${doc.metadata?.name ?? "?"}`;
    const kind = KINDS[`${doc.apiVersion}/${doc.kind}`];
    if (!kind) return [`${where}: no schema for apiVersion ${doc.apiVersion}, kind ${doc.kind}`];
    try {
      new kind.model(doc as never).validate();
      return [];
    } catch (error) {
      return [`${where}: ${error instanceof Error ? error.message : String(error)}`];
    }
  });
}

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.Preserve,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: [],
};
let previousProgram: ts.Program | undefined;

/** Fields (at any depth) that the kind's schema does not have, and values of the wrong type, found by the TypeScript checker. */
function unknownFieldErrors(docs: K8sObject[]): string[] {
  const sources = new Map<string, { text: string; where: string }>();
  docs.forEach((doc, index) => {
    const kind = KINDS[`${doc.apiVersion}/${doc.kind}`];
    if (!kind) return;
    const fileName = join(root, `__manifest_${index}__.ts`);
    const text = `import type { ${kind.type} } from "${kind.module}";\nexport const manifest: ${kind.type} = ${JSON.stringify(doc, null, 1)};\n`;
    sources.set(fileName, { text, where: `${doc.kind} ${doc.metadata?.name}` });
  });
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const { getSourceFile, fileExists } = host;
  host.getSourceFile = (fileName, language, ...rest) => {
    const source = sources.get(fileName);
    return source ? ts.createSourceFile(fileName, source.text, language) : getSourceFile.call(host, fileName, language, ...rest);
  };
  host.fileExists = (fileName) => sources.has(fileName) || fileExists.call(host, fileName);
  // Reusing the last program keeps the declarations already parsed: a second check takes milliseconds.
  const program = ts.createProgram([...sources.keys()], COMPILER_OPTIONS, host, previousProgram);
  previousProgram = program;
  return [...sources].flatMap(([fileName, { text, where }]) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(fileName)).map((diagnostic) => {
      // The offending line of the generated literal: the field's name and value.
      const start = diagnostic.start ?? 0;
      const line = text.slice(text.lastIndexOf("\n", start) + 1, text.indexOf("\n", start)).trim();
      return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")} (at ${line})`;
    }),
  );
}

// The manifests as committed.
const yamlFiles = readdirSync(K8S_DIR).filter((file) => file.endsWith(".yaml"));
const fileTexts = Object.fromEntries(await Promise.all(yamlFiles.map(async (file) => [file, await Bun.file(join(K8S_DIR, file)).text()] as const)));
const kustomization = Bun.YAML.parse(fileTexts["kustomization.yaml"] ?? "") as {
  namespace?: string;
  resources: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
};
/** What `kubectl apply -k deploy/k8s` applies (the example Secret is not among them). */
const applied = kustomization.resources.flatMap((file) => parseYaml(fileTexts[file] ?? ""));
const secretExample = parseYaml(fileTexts["secret.example.yaml"] ?? "");
const all = [...applied, ...secretExample];

const byKind = <T extends K8sObject = K8sObject>(kind: string) => applied.filter((doc) => doc.kind === kind) as T[];
const named = <T extends K8sObject = K8sObject>(kind: string, name: string) => {
  const found = byKind<T>(kind).find((doc) => doc.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found;
};

const SERVICES = ["gateway", "ingest", "notifier", "ai-worker"] as const;
type ServiceName = (typeof SERVICES)[number];
const CONFIG_SCHEMAS: Record<ServiceName, z.ZodObject> = {
  gateway: gatewayConfigSchema,
  ingest: ingestConfigSchema,
  notifier: notifierConfigSchema,
  "ai-worker": workerConfigSchema,
};

const configMap = named<K8sObject & { data: Record<string, string> }>("ConfigMap", "pipeline-config");
const secret = secretExample[0] as K8sObject & { stringData: Record<string, string> };
const deployment = (name: ServiceName) => named<DeploymentObject>("Deployment", name);
const container = (name: ServiceName) => deployment(name).spec.template.spec.containers[0]!;
const shutdownTimeoutMs = Number(configMap.data.SHUTDOWN_TIMEOUT_MS ?? 10_000);

/** The environment a service's container starts with: the ConfigMap, its own values, and the example Secret's. */
function containerEnv(name: ServiceName): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container(name).envFrom ?? []) {
    expect(source.configMapRef?.name).toBe("pipeline-config");
    Object.assign(env, configMap.data);
  }
  for (const variable of container(name).env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      expect(ref.name).toBe("pipeline-secrets");
      const value = secret.stringData[ref.key];
      if (value === undefined && !ref.optional) throw new Error(`${name}: ${variable.name} needs key ${ref.key}, absent from secret.example.yaml`);
      if (value !== undefined) env[variable.name] = value;
    }
  }
  return env;
}

/** A CPU quantity in millicores ("50m", "1", "1.5"). */
function millicores(quantity: string): number {
  return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}
/** A memory quantity in MiB ("96Mi", "1Gi"). */
function mebibytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}
/** The port a probe or Service names, as a number. */
function containerPort(c: Container, port: number | string): number | undefined {
  return typeof port === "number" ? port : c.ports?.find((candidate) => candidate.name === port)?.containerPort;
}

describe("deploy/k8s against the Kubernetes and KEDA schemas", () => {
  test("kustomization.yaml lists every manifest but the example Secret, and an image for each Deployment", () => {
    const manifests = yamlFiles.filter((file) => file !== "kustomization.yaml" && file !== "secret.example.yaml").sort();
    expect([...kustomization.resources].sort()).toEqual(manifests);
    expect(kustomization.namespace).toBeTruthy();
    const images = new Set(kustomization.images?.map((image) => image.name));
    for (const name of SERVICES) expect(images.has(container(name).image)).toBe(true);
  });

  test("every object is valid against its kind's schema", () => {
    expect(all.length).toBeGreaterThan(10);
    expect(schemaErrors(all)).toEqual([]);
  });

  // Type-checking takes a few seconds (the declarations of every kind are parsed once).
  test("no object has a field its schema does not know", () => {
    expect(unknownFieldErrors(all)).toEqual([]);
  }, 60_000);

  test("a broken copy fails: misspelt field, wrong types, bad quantity, incomplete ScaledObject", () => {
    const broken = parseYaml(
      (fileTexts["gateway.yaml"] ?? "")
        .replace("readinessProbe:", "readinesProbe:")
        .replace("containerPort: 3000", 'containerPort: "3000"')
        .replace("memory: 96Mi", "memory: 96 MiB"),
    );
    const brokenWorker = parseYaml(
      (fileTexts["ai-worker.yaml"] ?? "")
        .replace("minReplicaCount: 0", "minReplicaCount: none")
        .replace("    - type: redis\n      name: waiting", "    - name: waiting"),
    );
    const schema = schemaErrors([...broken, ...brokenWorker]).join("\n");
    expect(schema).toContain("containers/0/ports/0/containerPort must be integer");
    expect(schema).toContain('resources/requests/memory must match format "quantity"');
    expect(schema).toContain("ScaledObject ai-worker: data/spec/minReplicaCount must be integer");
    expect(schema).toContain("data/spec/triggers/0 must have required property type");
    // The type checker stops at the first problem of an object: one break at a time.
    const misspelt = parseYaml((fileTexts["gateway.yaml"] ?? "").replace("readinessProbe:", "readinesProbe:"));
    expect(schemaErrors(misspelt)).toEqual([]); // the schemas allow unknown fields...
    expect(unknownFieldErrors(misspelt).join("\n")).toContain("Deployment gateway: Object literal may only specify known properties, and '\"readinesProbe\"'");
    const mistyped = parseYaml((fileTexts["ai-worker.yaml"] ?? "").replace('listLength: "4"', "listLength: 4"));
    expect(unknownFieldErrors(mistyped).join("\n")).toContain(
      "ScaledObject ai-worker: Type 'number' is not assignable to type 'string'. (at \"listLength\": 4,)",
    );
    // An unknown kind is refused rather than skipped.
    expect(schemaErrors([{ apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } }])).toEqual([
      "Deploymnet x: no schema for apiVersion apps/v1, kind Deploymnet",
    ]);
  }, 60_000);
});

describe("deploy/k8s: the rules", () => {
  test("a Deployment per service, probes on /readyz and /healthz at the port the service listens on", () => {
    for (const name of SERVICES) {
      const c = container(name);
      const port = Number(containerEnv(name).PORT);
      expect(c.ports?.[0]?.containerPort).toBe(port);
      expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
      expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(containerPort(c, probe?.httpGet?.port ?? -1)).toBe(port);
      expect(deployment(name).spec.template.metadata.labels).toMatchObject(deployment(name).spec.selector.matchLabels);
    }
  });

  test("each Service reaches its Deployment's pods on the service's port", () => {
    for (const name of SERVICES) {
      const service = named<K8sObject & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } }>(
        "Service",
        name,
      );
      expect(deployment(name).spec.template.metadata.labels).toMatchObject(service.spec.selector);
      expect(containerPort(container(name), service.spec.ports[0]!.targetPort)).toBe(Number(containerEnv(name).PORT));
    }
    // The gateway reaches ingest through its Service.
    const ingestService = named<K8sObject & { spec: { ports: { port: number }[] } }>("Service", "ingest");
    expect(containerEnv("gateway").INGEST_URL).toBe(`http://ingest:${ingestService.spec.ports[0]!.port}`);
  });

  test("termination grace is above the preStop pause plus SHUTDOWN_TIMEOUT_MS, with 5 s to spare", () => {
    for (const name of SERVICES) {
      const grace = deployment(name).spec.template.spec.terminationGracePeriodSeconds ?? 30;
      const preStop = container(name).lifecycle?.preStop?.sleep?.seconds ?? 0;
      expect(grace * 1000).toBeGreaterThanOrEqual(preStop * 1000 + shutdownTimeoutMs + 5000);
    }
    // The services that receive traffic pause before SIGTERM, so their endpoints leave the load balancers first.
    for (const name of ["gateway", "ingest", "notifier"] as const) expect(container(name).lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
  });

  test("resource requests cover the benchmark's figures (bench/results.json), memory limits above requests, no CPU limits", async () => {
    const bench = (await Bun.file(join(root, "bench", "results.json")).json()) as {
      settings: { ratePerS: number };
      pipeline: Record<string, { run: { cpuMsPerAsset: Record<string, number>; rssMiB: { end: Record<string, number> } } }>;
    };
    const runs = Object.values(bench.pipeline).map((scenario) => scenario.run);
    const worst = (pick: (run: (typeof runs)[number]) => number | undefined) => Math.max(...runs.map((run) => pick(run) ?? 0));
    for (const name of SERVICES) {
      const resources = container(name).resources;
      const requests = resources?.requests ?? {};
      expect(resources?.limits?.cpu).toBeUndefined();
      expect(mebibytes(requests.memory ?? "0Mi")).toBeGreaterThanOrEqual(worst((run) => run.rssMiB.end[name]));
      expect(mebibytes(resources?.limits?.memory ?? "0Mi")).toBeGreaterThan(mebibytes(requests.memory ?? "0Mi"));
      // CPU at the benchmark's rate (uploads/s) with one replica.
      expect(millicores(requests.cpu ?? "0")).toBeGreaterThanOrEqual(worst((run) => run.cpuMsPerAsset[name]) * bench.settings.ratePerS);
    }
  });

  test("HorizontalPodAutoscalers for the gateway and the notifier (ingest too) own their Deployments' replica counts", () => {
    const hpas = byKind<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number } }>(
      "HorizontalPodAutoscaler",
    );
    for (const name of ["gateway", "notifier", "ingest"] as const) {
      const hpa = hpas.find((candidate) => candidate.spec.scaleTargetRef.name === name);
      expect(hpa?.spec.scaleTargetRef.kind).toBe("Deployment");
      expect(hpa?.spec.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa?.spec.maxReplicas).toBeGreaterThan(hpa?.spec.minReplicas ?? 0);
      // A `replicas` field would fight the autoscaler on every `kubectl apply`.
      expect(deployment(name).spec.replicas).toBeUndefined();
    }
  });

  test("KEDA scales the ai-worker on the ai-processing queue's waiting jobs, down to zero", () => {
    const scaledObject = named<ScaledObjectObject>("ScaledObject", "ai-worker");
    expect(scaledObject.spec.scaleTargetRef.name).toBe("ai-worker");
    expect(scaledObject.spec.minReplicaCount).toBe(0);
    expect(deployment("ai-worker").spec.replicas).toBeUndefined();
    // BullMQ's own names for the queue's keys, with the services' prefix.
    const keys = new QueueKeys(configMap.data.QUEUE_PREFIX ?? "bull").getKeys(AI_QUEUE);
    const trigger = (name: string) => scaledObject.spec.triggers.find((candidate) => candidate.name === name);
    expect(trigger("waiting")?.type).toBe("redis");
    expect(trigger("waiting")?.metadata.listName).toBe(keys.wait!);
    expect(trigger("waiting")?.metadata.activationListLength).toBe("0");
    // Every AI job has a fair-share priority: BullMQ keeps waiting ones in the `prioritized` sorted set.
    expect(trigger("prioritized")?.metadata.listName).toBe(keys.prioritized!);
    expect(trigger("prioritized")?.metadata.activationListLength).toBe("0");
    // One replica per WORKER_CONCURRENCY running jobs keeps busy replicas while the wait list is empty.
    expect(trigger("active")?.metadata.listName).toBe(keys.active!);
    expect(trigger("active")?.metadata.listLength).toBe(configMap.data.WORKER_CONCURRENCY ?? "2");
    expect(trigger("delayed")?.metadata.listName).toBe(keys.delayed!);
    // Every trigger reads Redis with the credentials of an existing TriggerAuthentication, from the Secret.
    for (const { authenticationRef } of scaledObject.spec.triggers) {
      const auth = named<K8sObject & { spec: { secretTargetRef: { name: string; key: string; parameter: string }[] } }>(
        "TriggerAuthentication",
        authenticationRef?.name ?? "",
      );
      expect(auth.spec.secretTargetRef.map((ref) => ref.parameter).sort()).toEqual(["address", "password"]);
      for (const ref of auth.spec.secretTargetRef) expect(secret.stringData[ref.key]).toBeDefined();
    }
  });

  test("one origin: the gateway on /, the notifier's Socket.IO on /socket.io/ with a sticky cookie; the body limit fits an upload", () => {
    const ingresses = byKind<K8sObject & { spec: { rules: { host: string; http: { paths: { path: string; backend: { service: { name: string } } }[] } }[] } }>(
      "Ingress",
    );
    const route = (path: string) =>
      ingresses
        .flatMap((ingress) => ingress.spec.rules.flatMap((rule) => rule.http.paths.map((entry) => ({ ingress, host: rule.host, ...entry }))))
        .find((entry) => entry.path === path);
    const publicUrl = new URL(configMap.data.PUBLIC_URL ?? "");
    expect(route("/")?.backend.service.name).toBe("gateway");
    expect(route("/")?.host).toBe(publicUrl.hostname);
    const socketRoute = route("/socket.io/");
    expect(socketRoute?.backend.service.name).toBe("notifier");
    expect(socketRoute?.host).toBe(publicUrl.hostname);
    expect(socketRoute?.ingress.metadata.annotations?.["nginx.ingress.kubernetes.io/affinity"]).toBe("cookie");
    // The web page connects to NOTIFIER_PUBLIC_URL's origin with Socket.IO's default path.
    expect(new URL(configMap.data.NOTIFIER_PUBLIC_URL ?? "").origin).toBe(publicUrl.origin);
    const bodySize = route("/")?.ingress.metadata.annotations?.["nginx.ingress.kubernetes.io/proxy-body-size"] ?? "1m";
    const gateway = loadConfig(gatewayConfigSchema, containerEnv("gateway"));
    expect(Number.parseInt(bodySize, 10) * 1024 * 1024).toBeGreaterThanOrEqual(gateway.MAX_BODY_BYTES);
  });

  test("PodDisruptionBudgets cover every Deployment", () => {
    const budgets = byKind<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number; minAvailable?: number } }>(
      "PodDisruptionBudget",
    );
    for (const name of SERVICES) {
      const labels = deployment(name).spec.template.metadata.labels;
      const budget = budgets.find((candidate) => Object.entries(candidate.spec.selector.matchLabels).every(([key, value]) => labels[key] === value));
      expect(budget).toBeDefined();
      expect(budget?.spec.maxUnavailable ?? 0).toBeGreaterThan(0);
    }
  });

  test("secrets come from the Secret, nowhere else; every other setting from the ConfigMap", () => {
    const SECRET_VARIABLES = ["JWT_SECRET", "MONGO_URL", "REDIS_URL", "CLOUDINARY_URL", "AI_API_KEY", "INTERNAL_SECRET"];
    for (const key of SECRET_VARIABLES) expect(configMap.data[key]).toBeUndefined();
    for (const name of SERVICES) {
      for (const variable of container(name).env ?? []) {
        if (SECRET_VARIABLES.includes(variable.name)) expect(variable.valueFrom?.secretKeyRef?.name).toBe("pipeline-secrets");
      }
      // No envFrom of the whole Secret: each service gets only the keys it reads.
      expect(container(name).envFrom?.some((source) => source.secretRef)).toBe(false);
    }
    expect(secret.kind).toBe("Secret");
    expect(kustomization.resources).not.toContain("secret.example.yaml");
    for (const key of ["JWT_SECRET", "MONGO_URL", "CLOUDINARY_URL", "AI_API_KEY"]) expect(secret.stringData[key]).toBeDefined();
    // The example's MONGO_URL is a replica set's: several hosts and the set's name.
    expect(secret.stringData.MONGO_URL).toMatch(/^mongodb:\/\/[^/]*,[^/]*\/collectibles\?.*replicaSet=/);
  });

  test("each service's configuration parses, and every variable set is one the services read", () => {
    const known = new Set(Object.values(CONFIG_SCHEMAS).flatMap((schema) => Object.keys(schema.shape)));
    for (const key of Object.keys(configMap.data)) expect(known.has(key) ? key : `${key} (read by no service)`).toBe(key);
    for (const name of SERVICES) {
      const own = new Set(Object.keys(CONFIG_SCHEMAS[name].shape));
      for (const variable of container(name).env ?? [])
        expect(own.has(variable.name) ? variable.name : `${variable.name} (not read by ${name})`).toBe(variable.name);
      expect(() => loadConfig(CONFIG_SCHEMAS[name], containerEnv(name))).not.toThrow();
    }
  });

  test("local storage: one ReadWriteMany claim, written by ingest and the ai-worker, read-only in the gateway", () => {
    const claim = named<K8sObject & { spec: { accessModes: string[] } }>("PersistentVolumeClaim", "media");
    expect(claim.spec.accessModes).toEqual(["ReadWriteMany"]);
    const mount = (name: ServiceName) => container(name).volumeMounts?.find((candidate) => candidate.mountPath === configMap.data.STORAGE_DIR);
    expect(mount("gateway")?.readOnly).toBe(true);
    for (const name of ["ingest", "ai-worker"] as const) expect(mount(name)?.readOnly ?? false).toBe(false);
    for (const name of ["gateway", "ingest", "ai-worker"] as const) {
      const volume = deployment(name).spec.template.spec.volumes?.find((candidate) => candidate.name === mount(name)?.name);
      expect(volume?.persistentVolumeClaim?.claimName).toBe("media");
    }
  });
});
