import { parseArgs } from "node:util";
import { CliError, CONNECTION_HELP, CONNECTION_OPTIONS, type Command, clientFrom } from "./common.ts";

export const retry: Command = {
  summary: "re-queue a failed asset",
  usage: `Usage: bun run cli retry <assetId> [--json]

Re-queues one of your failed assets (the API answers 409 if it is not failed).

  --json           print the API's answer as JSON
${CONNECTION_HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...CONNECTION_OPTIONS, json: { type: "boolean" } } });
    if (values.help) {
      console.log(this.usage);
      return 0;
    }
    const [assetId, ...extra] = positionals;
    if (!assetId || extra.length) throw new CliError("expected exactly one <assetId>; see --help", 2);
    const client = await clientFrom(values);
    const accepted = await client.retry(assetId);
    console.log(values.json ? JSON.stringify(accepted) : `queued ${accepted.assetId} again (job ${accepted.jobId})`);
    return 0;
  },
};
