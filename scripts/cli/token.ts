import { parseArgs } from "node:util";
import { CliError, type Command, mintToken, parseTtl } from "./common.ts";

export const token: Command = {
  summary: "mint an HS256 token from JWT_SECRET for local use",
  usage: `Usage: bun run cli token <userId> [--admin] [--ttl 1h]

Prints a JWT for <userId> (a 24-hex ObjectId), signed with $JWT_SECRET.

  --admin          add role "admin"
  --ttl <dur>      lifetime: 90s, 15m, 1h (default), 7d
  -h, --help       this help`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { admin: { type: "boolean" }, ttl: { type: "string" }, help: { type: "boolean", short: "h" } },
    });
    if (values.help) {
      console.log(this.usage);
      return 0;
    }
    const [userId, ...extra] = positionals;
    if (!userId || extra.length) throw new CliError("expected exactly one <userId>; see --help", 2);
    console.log(await mintToken(userId, { admin: values.admin, ttlS: parseTtl(values.ttl ?? "1h") }));
    return 0;
  },
};
