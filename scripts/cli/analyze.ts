import { basename } from "node:path";
import { parseArgs } from "node:util";
import { ApiError, type Client } from "@pipeline/client";
import { type AssetResponse, categorySchema, type ExtractedMetadata } from "@pipeline/contracts";
import { CliError, CONNECTION_HELP, CONNECTION_OPTIONS, type Command, clientFrom, describeError, formatDetection } from "./common.ts";

type Phase = "queued" | "uploading" | "processing" | "active" | "failed";

interface FileState {
  path: string;
  name: string;
  phase: Phase;
  assetId?: string;
  error?: string;
  aiMetadata?: Partial<ExtractedMetadata>;
  asset?: AssetResponse;
}

export const analyze: Command = {
  summary: "upload images and wait for their analysis",
  usage: `Usage: bun run cli analyze <image...> --category <category> [--json] [--timeout 120]

Uploads each image, shows its progress (uploading -> processing -> active/failed)
while waiting for the notifier's event, then prints brand, model and colorway
with their confidences. Exits 1 when any image failed.

  --category <c>   ${categorySchema.options.join(", ")} (required)
  --json           print the results as JSON (progress goes to stderr)
  --timeout <s>    give up waiting after this many seconds (default 120)
${CONNECTION_HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...CONNECTION_OPTIONS, category: { type: "string", short: "c" }, json: { type: "boolean" }, timeout: { type: "string" } },
    });
    if (values.help) {
      console.log(this.usage);
      return 0;
    }
    if (!positionals.length) throw new CliError("no image given; see --help", 2);
    const category = categorySchema.safeParse(values.category);
    if (!category.success) throw new CliError(`--category is required, one of ${categorySchema.options.join(", ")}`, 2);
    const timeoutS = Number(values.timeout ?? 120);
    if (!(timeoutS > 0)) throw new CliError("--timeout must be a positive number of seconds", 2);
    for (const path of positionals) {
      if (!(await Bun.file(path).exists())) throw new CliError(`file not found: ${path}`, 2);
    }
    const client = await clientFrom(values);
    const files: FileState[] = positionals.map((path) => ({ path, name: basename(path), phase: "queued" }));
    const progress = new Progress(files);
    const results = await analyzeAll(client, files, category.data, timeoutS, progress);
    if (values.json) {
      console.log(
        JSON.stringify(
          results.map(({ path, assetId, phase, error, asset, aiMetadata }) => ({ file: path, assetId, status: phase, error, aiMetadata, asset })),
          null,
          2,
        ),
      );
    } else {
      for (const file of results) console.log(describeResult(file));
    }
    return results.every((file) => file.phase === "active") ? 0 : 1;
  },
};

async function analyzeAll(client: Client, files: FileState[], category: ReturnType<typeof categorySchema.parse>, timeoutS: number, progress: Progress) {
  const byAsset = new Map<string, FileState>();
  /** Outcomes that arrived before their upload's answer. */
  const early = new Map<string, Partial<FileState>>();
  let wake = () => {};
  const finish = (assetId: string, outcome: Partial<FileState>) => {
    const file = byAsset.get(assetId);
    if (!file) return void early.set(assetId, outcome);
    if (file.phase !== "processing") return;
    Object.assign(file, outcome);
    progress.update(file);
    wake();
  };
  const subscription = client.subscribe({
    asset_processed: (event) =>
      finish(event.assetId, event.status === "active" ? { phase: "active", aiMetadata: event.aiMetadata } : { phase: "failed", error: event.error }),
    onCatchUp: (assets) => {
      for (const asset of assets) finish(asset.id, fromAsset(asset));
    },
  });
  try {
    for (const file of files) {
      file.phase = "uploading";
      progress.update(file);
      try {
        const bytes = await Bun.file(file.path).bytes();
        const accepted = await client.upload(bytes, { category, filename: file.name });
        file.assetId = accepted.assetId;
        file.phase = "processing";
        byAsset.set(accepted.assetId, file);
        progress.update(file);
        const outcome = early.get(accepted.assetId);
        if (outcome) finish(accepted.assetId, outcome);
      } catch (error) {
        // Nothing else can succeed when the gateway is unreachable or the token refused.
        if (error instanceof ApiError && (error.status === 0 || error.status === 401)) throw error;
        file.phase = "failed";
        file.error = describeError(error);
        progress.update(file);
      }
    }
    // Wait for the events; poll now and then too, in case the notifier cannot be reached.
    const deadline = Date.now() + timeoutS * 1000;
    let nextPoll = Date.now() + 3000;
    while (files.some((file) => file.phase === "processing") && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.max(0, Math.min(250, deadline - Date.now())));
      });
      if (Date.now() >= nextPoll) {
        nextPoll = Date.now() + 3000;
        for (const file of files) if (file.phase === "processing" && file.assetId) await poll(client, file, finish);
      }
    }
    for (const file of files) {
      if (file.phase === "processing" && file.assetId) await poll(client, file, finish);
      if (file.phase === "processing") {
        file.phase = "failed";
        file.error = `no result within ${timeoutS}s (still processing; see \`bun run cli list\`)`;
        progress.update(file);
      }
    }
    // The full Assets, for --json and for metadata an event did not carry.
    for (const file of files) {
      if (file.assetId) file.asset = await client.get(file.assetId).catch(() => undefined);
    }
  } finally {
    subscription.close();
    progress.done();
  }
  return files;
}

async function poll(client: Client, file: FileState, finish: (assetId: string, outcome: Partial<FileState>) => void) {
  const asset = await client.get(file.assetId as string).catch(() => undefined);
  if (asset && (asset.status === "active" || asset.status === "failed")) finish(asset.id, fromAsset(asset));
}

function fromAsset(asset: AssetResponse): Partial<FileState> {
  const meta = asset.aiMetadata;
  return asset.status === "active"
    ? { phase: "active", aiMetadata: { brand: meta?.brand, model: meta?.model, colorway: meta?.colorway } }
    : { phase: "failed", error: meta?.error ?? "processing failed" };
}

function describeResult(file: FileState): string {
  if (file.phase !== "active") return `${file.name}: failed: ${file.error ?? "unknown error"}${file.assetId ? ` (asset ${file.assetId})` : ""}`;
  const meta = file.aiMetadata ?? {};
  return [
    `${file.name}: active (asset ${file.assetId})`,
    `  brand:    ${formatDetection(meta.brand)}`,
    `  model:    ${formatDetection(meta.model)}`,
    `  colorway: ${formatDetection(meta.colorway)}`,
  ].join("\n");
}

/** Live progress on stderr: redrawn in place on a terminal, a line per change otherwise. */
class Progress {
  private drawn = 0;
  private readonly tty = process.stderr.isTTY === true;
  constructor(private readonly files: FileState[]) {}

  update(changed: FileState): void {
    if (!this.tty) {
      process.stderr.write(`${line(changed)}\n`);
      return;
    }
    let out = this.drawn ? `\x1b[${this.drawn}A` : "";
    for (const file of this.files) out += `\x1b[2K${line(file)}\n`;
    process.stderr.write(out);
    this.drawn = this.files.length;
  }

  done(): void {
    this.drawn = 0;
  }
}

function line(file: FileState): string {
  const detail = file.phase === "processing" ? ` (asset ${file.assetId})` : file.phase === "failed" && file.error ? `: ${file.error}` : "";
  return `${file.name}: ${file.phase === "uploading" || file.phase === "processing" ? `${file.phase}...` : file.phase}${detail}`;
}
