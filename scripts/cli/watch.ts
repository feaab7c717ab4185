import { parseArgs } from "node:util";
import type { AssetProcessedEvent, AssetResponse } from "@pipeline/contracts";
import { CONNECTION_HELP, CONNECTION_OPTIONS, type Command, clientFrom, describeError, formatDetection } from "./common.ts";

export const watch: Command = {
  summary: "stream your asset events until Ctrl-C",
  usage: `Usage: bun run cli watch [--since <iso>] [--json]

Connects to the notifier and prints each asset_processed event; after every
(re)connect it catches up on what finished meanwhile (each outcome once).

  --since <iso>    also print what finished since this time (default: now)
  --json           one JSON object per line
${CONNECTION_HELP}`,
  async run(args) {
    const { values } = parseArgs({ args, options: { ...CONNECTION_OPTIONS, since: { type: "string" }, json: { type: "boolean" } } });
    if (values.help) {
      console.log(this.usage);
      return 0;
    }
    const client = await clientFrom(values);
    const print = (line: unknown) => console.log(values.json ? JSON.stringify(line) : line);
    const subscription = client.subscribe(
      {
        asset_processed: (event) => print(values.json ? { event: "asset_processed", payload: event } : describeEvent(event)),
        session_expired: (payload) => console.error(`session expired: ${payload.reason}`),
        onCatchUp: (assets) => {
          for (const asset of assets) print(values.json ? { event: "catch_up", asset } : describeCaughtUp(asset));
        },
        onConnect: ({ recovered }) => console.error(`connected to ${client.notifierUrl}${recovered ? " (session resumed)" : ""}; Ctrl-C to stop`),
        onDisconnect: (reason) => console.error(`disconnected: ${reason}`),
        onError: (error) => console.error(`error: ${describeError(error)}`),
      },
      values.since ? { since: values.since } : {},
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    subscription.close();
    return 0;
  },
};

function describeEvent(event: AssetProcessedEvent): string {
  if (event.status === "failed") return `${event.timestamp}  ${event.assetId}  failed  ${event.error}`;
  const { brand, model, colorway } = event.aiMetadata;
  return `${event.timestamp}  ${event.assetId}  active  ${formatDetection(brand)} / ${formatDetection(model)} / ${formatDetection(colorway)}`;
}

function describeCaughtUp(asset: AssetResponse): string {
  const meta = asset.aiMetadata;
  const at = meta?.processedAt ?? asset.updatedAt;
  if (asset.status === "failed") return `${at}  ${asset.id}  failed  ${meta?.error ?? ""}  (caught up)`;
  return `${at}  ${asset.id}  ${asset.status}  ${formatDetection(meta?.brand)} / ${formatDetection(meta?.model)} / ${formatDetection(meta?.colorway)}  (caught up)`;
}
