/**
 * The pipeline's command line: `bun run cli <command> [...]`, `--help` on each.
 * Each command is one file under scripts/cli/, built on @pipeline/client.
 */
import { analyze } from "./cli/analyze.ts";
import { CliError, type Command, describeError } from "./cli/common.ts";
import { list } from "./cli/list.ts";
import { retry } from "./cli/retry.ts";
import { token } from "./cli/token.ts";
import { watch } from "./cli/watch.ts";

const COMMANDS: Record<string, Command> = { token, analyze, list, watch, retry };

const USAGE = `Usage: bun run cli <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(9)} ${command.summary}`)
  .join("\n")}

Run \`bun run cli <command> --help\` for a command's options.
Environment: API_URL (default http://127.0.0.1:3000), TOKEN, JWT_SECRET, NOTIFIER_URL.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) throw new CliError(`unknown command "${name}"\n\n${USAGE}`, 2);
  try {
    return await command.run(args);
  } catch (error) {
    // node:util parseArgs: unknown option, missing value...
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      throw new CliError(`${error.message} (see \`bun run cli ${name} --help\`)`, 2);
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`error: ${describeError(error)}`);
    process.exit(error instanceof CliError ? error.exitCode : 1);
  },
);
