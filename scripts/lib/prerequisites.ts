/**
 * What `bun run dev` and `bun run test` need on the machine, and the one
 * command that installs each missing piece (the README's prerequisite line,
 * split per program). A missing program is a MissingPrerequisite: commands
 * print its message, with no stack trace, and exit non-zero.
 */

export type Prerequisite = "redis-server" | "postgresql" | "go" | "setpriv";

const INSTALL: Record<Prerequisite, { apt: string; brew?: string; what: string }> = {
  "redis-server": { apt: "redis-server", brew: "redis", what: "redis-server" },
  postgresql: { apt: "postgresql", brew: "postgresql@16", what: "PostgreSQL's server programs (initdb, postgres)" },
  go: { apt: "golang-go", brew: "go", what: "Go (it builds FerretDB on first use)" },
  setpriv: { apt: "util-linux", what: "setpriv (as root, PostgreSQL runs as an unprivileged user through it)" },
};

/** The command that installs `what` on this machine: Homebrew on macOS, apt-get elsewhere. */
export function installCommand(what: Prerequisite): string {
  const entry = INSTALL[what];
  if (process.platform === "darwin" && entry.brew) return `brew install ${entry.brew}`;
  return `sudo apt-get install -y ${entry.apt}`;
}

export class MissingPrerequisite extends Error {
  constructor(
    readonly prerequisite: Prerequisite,
    /** Another way out, shown after the install command. */
    alternative?: string,
  ) {
    super(`${INSTALL[prerequisite].what} not found; install it with: ${installCommand(prerequisite)}${alternative ? `\n(${alternative})` : ""}`);
    this.name = "MissingPrerequisite";
  }
}
