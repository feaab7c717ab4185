/**
 * The connection of the services that own Assets (ingest, the ai-worker): mongoose, with the
 * driver options of @pipeline/runtime/mongo, the Asset model registered on it, and the driver `Db`
 * of that connection handed to the stores (they use the driver's collection API). Its own module,
 * so that only these services load mongoose: the notifier and the gateway never import it.
 */

import type { Logger } from "@pipeline/runtime/logger";
import { chooseDialect, logServerChanges, type MongoConnection, type MongoDialectSetting, mongoConnectionOptions } from "@pipeline/runtime/mongo";
import mongoose, { type Connection } from "mongoose";
import { assetModel } from "./model.ts";

/** A database connected through mongoose: what the stores take, and the mongoose connection (to close). */
export interface AssetsConnection extends MongoConnection {
  mongoose: Connection;
}

export async function connectAssetsDatabase(url: string, logger: Logger, setting: MongoDialectSetting = "auto"): Promise<AssetsConnection> {
  const connection = mongoose.createConnection(url, {
    ...mongoConnectionOptions(url),
    // A command while MongoDB is down fails at once (a 503), instead of waiting in mongoose's buffer.
    bufferCommands: false,
    // Indexes and collections come from the store adapters' index sync alone (model.ts).
    autoIndex: false,
    autoCreate: false,
  });
  await connection.asPromise();
  const client = connection.getClient();
  logServerChanges(client, logger);
  const db = client.db(connection.name);
  assetModel(connection);
  return { client, db, dialect: await chooseDialect(db, logger, setting), mongoose: connection };
}
