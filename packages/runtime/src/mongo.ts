/** MongoDB connection (mongoose). Commands are not buffered, so a request fails fast (503) while MongoDB is down. */
import mongoose, { type Connection } from "mongoose";
import type { Logger } from "./logger.ts";

export async function connectMongo(url: string, logger: Logger): Promise<Connection> {
  const connection = mongoose.createConnection(url, {
    serverSelectionTimeoutMS: 5000,
    bufferCommands: false,
    autoIndex: true,
  });
  connection.on("disconnected", () => logger.warn("mongodb disconnected"));
  connection.on("reconnected", () => logger.info("mongodb reconnected"));
  await connection.asPromise();
  return connection;
}

export async function mongoIsUp(connection: Connection): Promise<boolean> {
  if (connection.readyState !== 1 || !connection.db) return false;
  await connection.db.admin().command({ ping: 1 });
  return true;
}

/** True for errors that mean "MongoDB is unreachable", as opposed to a bad query. */
export function isMongoUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    /MongoNetwork|MongoServerSelection|MongoNotConnected|PoolClearedError|MongoTopologyClosed/.test(error.name) ||
    /Client must be connected|connection .* closed|ECONNREFUSED|buffering timed out/i.test(error.message)
  );
}
