/**
 * A real Redis Cluster of our own on loopback: masters and replicas from
 * Debian's redis-server, each on free ports (client and cluster bus), its
 * config and log in one temporary folder, joined with
 * `redis-cli --cluster create`. Started and stopped by the caller (tests,
 * bench/cluster.ts); a node can be killed to make its replica take over.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { Redis } from "ioredis";
import { MissingPrerequisite } from "../../scripts/lib/prerequisites.ts";
import { freePort, redisAnswers, stopProcess } from "../../scripts/lib/processes.ts";

export interface ClusterNodeProcess {
  port: number;
  proc: Subprocess;
}

export interface LocalRedisCluster {
  nodes: ClusterNodeProcess[];
  /** The REDIS_CLUSTER_NODES value: every node, `127.0.0.1:<port>,...`. */
  nodeList: string;
  /** The port of the master that serves `key`'s slot (asked of a live node). */
  masterOf(key: string): Promise<number>;
  /** SIGKILL one node, as a crash would. */
  kill(port: number): Promise<void>;
  /** Resolves once every live node says cluster_state:ok and `key`'s slot is served by a live master; returns that master's port. */
  waitUntilServed(key: string, timeoutMs?: number): Promise<number>;
  /** Stops every node and removes the folder. */
  stop(): Promise<void>;
}

/** One command to one node, on a connection of its own that never retries. */
export async function nodeCommand(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on("error", () => {}); // a dead node is an answer here
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

const clusterInfo = async (port: number) => String(await nodeCommand(port, "CLUSTER", "INFO"));

/** `masters` masters with `replicas` replicas each, cluster-node-timeout `nodeTimeoutMs` (failure detection takes about that long). */
export async function startRedisCluster(options: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<LocalRedisCluster> {
  const bin = Bun.which("redis-server");
  const cli = Bun.which("redis-cli");
  if (!bin || !cli) throw new MissingPrerequisite("redis-server");
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const dir = mkdtempSync(join(tmpdir(), "pipeline-redis-cluster-"));
  const nodes: ClusterNodeProcess[] = [];
  const cluster: LocalRedisCluster = {
    nodes,
    nodeList: "",
    async masterOf(key) {
      for (const node of live()) {
        try {
          const slot = Number(await nodeCommand(node.port, "CLUSTER", "KEYSLOT", key));
          const owner = slotOwner(slot, (await nodeCommand(node.port, "CLUSTER", "SLOTS")) as SlotRange[]);
          if (owner !== null) return owner;
        } catch {
          // this one is down: ask another
        }
      }
      throw new Error(`no live node knows who serves ${key}`);
    },
    async kill(port) {
      const node = nodes.find((n) => n.port === port);
      if (!node) throw new Error(`no cluster node on port ${port}`);
      node.proc.kill("SIGKILL");
      await node.proc.exited;
    },
    async waitUntilServed(key, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = "";
      while (Date.now() < deadline) {
        try {
          const infos = await Promise.all(live().map((node) => clusterInfo(node.port)));
          const owner = await cluster.masterOf(key);
          if (infos.every((info) => info.includes("cluster_state:ok")) && live().some((node) => node.port === owner)) return owner;
          last = `states ${infos.map((info) => /cluster_state:(\w+)/.exec(info)?.[1]).join(",")}, ${key} served by ${owner}`;
        } catch (error) {
          last = (error as Error).message;
        }
        await Bun.sleep(100);
      }
      throw new Error(`cluster did not serve ${key} again within ${timeoutMs} ms (${last})`);
    },
    async stop() {
      await Promise.all(nodes.map((node) => stopProcess(node.proc, 5000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const live = () => nodes.filter((node) => node.proc.exitCode === null && node.proc.signalCode === null);

  try {
    for (let i = 0; i < masters * (1 + replicas); i++) nodes.push(await startNode(bin, dir, options.nodeTimeoutMs ?? 1000));
    cluster.nodeList = nodes.map((node) => `127.0.0.1:${node.port}`).join(",");
    // The first `masters` addresses become masters, the rest their replicas.
    const create = Bun.spawn(
      [cli, "--cluster", "create", ...nodes.map((node) => `127.0.0.1:${node.port}`), "--cluster-replicas", String(replicas), "--cluster-yes"],
      { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    const [code, out, err] = await Promise.all([create.exited, new Response(create.stdout).text(), new Response(create.stderr).text()]);
    if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${out}\n${err}`);
    await waitFor(30_000, "every node to say cluster_state:ok and every replica to be in sync", async () => {
      const infos = await Promise.all(nodes.map((node) => clusterInfo(node.port)));
      if (!infos.every((info) => info.includes("cluster_state:ok"))) return false;
      // A replica that has not synced yet could not take over: wait for each to be linked to its master.
      const replication = await Promise.all(nodes.map((node) => nodeCommand(node.port, "INFO", "replication").then(String)));
      const linked = replication.filter((info) => info.includes("role:slave") && info.includes("master_link_status:up")).length;
      return linked === masters * replicas;
    });
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

type SlotRange = [number, number, [string, number, ...unknown[]], ...unknown[]];

function slotOwner(slot: number, ranges: SlotRange[]): number | null {
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  return range ? Number(range[2][1]) : null;
}

async function startNode(bin: string, dir: string, nodeTimeoutMs: number): Promise<ClusterNodeProcess> {
  // A port found free can be taken before redis-server binds it: then it exits, and other ports are tried.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const busPort = await freePort();
    const logFile = join(dir, `redis-${port}.log`);
    const args = [
      ["--port", port],
      // The bus port is chosen too: the default (port + 10000) may be taken or past 65535.
      ["--cluster-port", busPort],
      ["--bind", "127.0.0.1"],
      ["--cluster-enabled", "yes"],
      ["--cluster-config-file", join(dir, `nodes-${port}.conf`)],
      ["--cluster-node-timeout", nodeTimeoutMs],
      ["--appendonly", "no"],
      ["--save", ""],
      ["--dir", dir],
      ["--logfile", logFile],
    ].flat();
    const proc = Bun.spawn([bin, ...args.map(String)], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      if (await redisAnswers(`redis://127.0.0.1:${port}`)) return { port, proc };
      await Bun.sleep(50);
    }
    await stopProcess(proc, 1000);
    if (attempt >= 3) throw new Error(`redis-server (cluster node) did not start:\n${readFileSync(logFile, "utf8").split("\n").slice(-3).join("\n")}`);
  }
}

async function waitFor(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = ` (last error: ${(error as Error).message})`;
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError}`);
}
