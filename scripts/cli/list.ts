import { parseArgs } from "node:util";
import { type AssetResponse, assetStatusSchema } from "@pipeline/contracts";
import { CliError, CONNECTION_HELP, CONNECTION_OPTIONS, type Command, clientFrom, formatDetection } from "./common.ts";

export const list: Command = {
  summary: "list your assets, newest first",
  usage: `Usage: bun run cli list [--status <status>] [--since <iso>] [--max <n>] [--json]

  --status <s>     only assets in this status (${assetStatusSchema.options.join(", ")})
  --since <iso>    only assets changed since this time
  --max <n>        stop after n assets (default: all)
  --json           one JSON array of the assets
${CONNECTION_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { ...CONNECTION_OPTIONS, status: { type: "string" }, since: { type: "string" }, max: { type: "string" }, json: { type: "boolean" } },
    });
    if (values.help) {
      console.log(this.usage);
      return 0;
    }
    const status = values.status === undefined ? undefined : assetStatusSchema.safeParse(values.status);
    if (status && !status.success) throw new CliError(`--status must be one of ${assetStatusSchema.options.join(", ")}`, 2);
    const max = values.max === undefined ? Number.POSITIVE_INFINITY : Number(values.max);
    if (!(max > 0)) throw new CliError("--max must be a positive number", 2);
    const client = await clientFrom(values);
    const assets: AssetResponse[] = [];
    for await (const page of client.list({ status: status?.data, updatedSince: values.since, limit: Math.min(100, max) })) {
      for (const asset of page.items) {
        if (assets.length >= max) break;
        assets.push(asset);
        if (!values.json) console.log(describeAsset(asset));
      }
      if (assets.length >= max) break;
    }
    if (values.json) console.log(JSON.stringify(assets, null, 2));
    else if (!assets.length) console.log("no assets");
    return 0;
  },
};

function describeAsset(asset: AssetResponse): string {
  const meta = asset.aiMetadata;
  const detail =
    asset.status === "failed"
      ? `error: ${meta?.error ?? "?"}`
      : meta?.brand
        ? `${formatDetection(meta.brand)} / ${formatDetection(meta.model)} / ${formatDetection(meta.colorway)}`
        : "";
  return `${asset.id}  ${asset.status.padEnd(10)} ${asset.category.padEnd(8)} ${asset.updatedAt}  ${detail}`.trimEnd();
}
