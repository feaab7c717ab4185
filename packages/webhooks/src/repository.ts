/**
 * Webhooks and their deliveries in MongoDB, through the driver's collections
 * (plain find / insert / updateOne / delete only: the tests' FerretDB v1 has
 * no transactions and no TTL indexes). Reads for users are scoped to their
 * owner; "MongoDB is down" becomes a 503.
 */
import { objectIdSchema } from "@pipeline/contracts/asset";
import type { DeliveryAttempt, DeliveryStatus, WebhookEventType } from "@pipeline/contracts/webhooks";
import { createMissingIndexes, guardMongo, isDuplicateKey } from "@pipeline/runtime/mongo";
import { type Collection, type Connection, Types } from "mongoose";

export const WEBHOOKS_COLLECTION = "webhooks";
export const DELIVERIES_COLLECTION = "webhook_deliveries";

export interface WebhookDoc {
  _id: Types.ObjectId;
  userId: Types.ObjectId;
  url: string;
  events: WebhookEventType[];
  /** Needed in clear to sign (HMAC); never listed. */
  secret: string;
  enabled: boolean;
  disabledReason: string | null;
  /** Start of the current streak of failed attempts; null while the last attempt succeeded. */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptDoc extends Omit<DeliveryAttempt, "at"> {
  at: Date;
}

export interface DeliveryDoc {
  /** `msg_…`, the `webhook-id` header. */
  _id: string;
  webhookId: Types.ObjectId;
  userId: Types.ObjectId;
  type: WebhookEventType;
  status: DeliveryStatus;
  attempts: AttemptDoc[];
  createdAt: Date;
  updatedAt: Date;
}

export interface NewWebhook {
  userId: string;
  url: string;
  events: WebhookEventType[];
  secret: string;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  userId: string;
  type: WebhookEventType;
}

const objectId = (id: string) => new Types.ObjectId(id);
// Strictly 24 hex (the contract's id): mongoose also accepts 12-character strings as ids.
const isHexId = (id: string) => objectIdSchema.safeParse(id).success;

export class WebhookRepository {
  private readonly webhooks: Collection<WebhookDoc>;
  private readonly deliveries: Collection<DeliveryDoc>;

  constructor(connection: Connection) {
    this.webhooks = connection.collection<WebhookDoc>(WEBHOOKS_COLLECTION);
    this.deliveries = connection.collection<DeliveryDoc>(DELIVERIES_COLLECTION);
  }

  /**
   * Creates the indexes (idempotent: a no-op for those that exist). Run at start, beside serving
   * (`createIndexesInBackground` in @pipeline/runtime/mongo); returns the indexes' names.
   */
  async init(): Promise<string[]> {
    const [webhooks, deliveries] = await Promise.all([
      createMissingIndexes(this.webhooks, [{ key: { userId: 1 } }]),
      createMissingIndexes(this.deliveries, [{ key: { webhookId: 1, createdAt: -1 } }]),
    ]);
    return [...webhooks, ...deliveries];
  }

  create(input: NewWebhook): Promise<WebhookDoc> {
    return guardMongo(async () => {
      const now = new Date();
      const doc: WebhookDoc = {
        _id: new Types.ObjectId(),
        userId: objectId(input.userId),
        url: input.url,
        events: input.events,
        secret: input.secret,
        enabled: true,
        disabledReason: null,
        failingSince: null,
        createdAt: now,
        updatedAt: now,
      };
      await this.webhooks.insertOne(doc);
      return doc;
    });
  }

  /** A user's webhooks, newest first. */
  listOwned(userId: string): Promise<WebhookDoc[]> {
    return guardMongo(() =>
      this.webhooks
        .find({ userId: objectId(userId) })
        .sort({ _id: -1 })
        .toArray(),
    );
  }

  /** The webhook if it exists and is the user's; null for a malformed id too. */
  findOwned(id: string, userId: string): Promise<WebhookDoc | null> {
    if (!isHexId(id)) return Promise.resolve(null);
    return guardMongo(() => this.webhooks.findOne({ _id: objectId(id), userId: objectId(userId) }));
  }

  findById(id: string): Promise<WebhookDoc | null> {
    if (!isHexId(id)) return Promise.resolve(null);
    return guardMongo(() => this.webhooks.findOne({ _id: objectId(id) }));
  }

  /** Deletes the user's webhook and its delivery log; false when it is not theirs or absent. */
  deleteOwned(id: string, userId: string): Promise<boolean> {
    if (!isHexId(id)) return Promise.resolve(false);
    return guardMongo(async () => {
      const { deletedCount } = await this.webhooks.deleteOne({ _id: objectId(id), userId: objectId(userId) });
      if (deletedCount === 0) return false;
      await this.deliveries.deleteMany({ webhookId: objectId(id) });
      return true;
    });
  }

  /** The user's enabled webhooks that take events of `type`. */
  /** Every user with a webhook (to rebuild the owners' set in Redis). */
  ownerIds(): Promise<string[]> {
    return guardMongo(async () => (await this.webhooks.distinct("userId")).map((id) => String(id)));
  }

  subscribed(userId: string, type: WebhookEventType): Promise<WebhookDoc[]> {
    return guardMongo(() => this.webhooks.find({ userId: objectId(userId), enabled: true, events: type }).toArray());
  }

  /** Records a pending delivery; creating it again (a retried fan-out) is a no-op. */
  createDelivery(input: NewDelivery): Promise<void> {
    return guardMongo(async () => {
      const now = new Date();
      try {
        await this.deliveries.insertOne({
          _id: input.id,
          webhookId: objectId(input.webhookId),
          userId: objectId(input.userId),
          type: input.type,
          status: "pending",
          attempts: [],
          createdAt: now,
          updatedAt: now,
        });
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    });
  }

  /** Appends an attempt to a pending delivery and sets its status (still pending while retries remain). */
  recordAttempt(deliveryId: string, attempt: AttemptDoc, status: DeliveryStatus): Promise<void> {
    return guardMongo(async () => {
      await this.deliveries.updateOne({ _id: deliveryId, status: "pending" }, { $push: { attempts: attempt }, $set: { status, updatedAt: new Date() } });
    });
  }

  /** Ends a pending delivery as failed without another attempt (its webhook was disabled or deleted). */
  failDelivery(deliveryId: string): Promise<void> {
    return guardMongo(async () => {
      await this.deliveries.updateOne({ _id: deliveryId, status: "pending" }, { $set: { status: "failed", updatedAt: new Date() } });
    });
  }

  /** A webhook's most recent deliveries, newest first. */
  listDeliveries(webhookId: string, limit: number): Promise<DeliveryDoc[]> {
    return guardMongo(() =>
      this.deliveries
        .find({ webhookId: objectId(webhookId) })
        .sort({ createdAt: -1 })
        .limit(limit)
        .toArray(),
    );
  }

  /** Starts a failure streak unless one is running. */
  markFailing(webhookId: Types.ObjectId, since: Date): Promise<void> {
    return guardMongo(async () => {
      await this.webhooks.updateOne({ _id: webhookId, failingSince: null }, { $set: { failingSince: since, updatedAt: new Date() } });
    });
  }

  /** Ends a failure streak (an attempt succeeded). */
  clearFailing(webhookId: Types.ObjectId): Promise<void> {
    return guardMongo(async () => {
      await this.webhooks.updateOne({ _id: webhookId, failingSince: { $ne: null } }, { $set: { failingSince: null, updatedAt: new Date() } });
    });
  }

  disable(webhookId: Types.ObjectId, reason: string): Promise<void> {
    return guardMongo(async () => {
      await this.webhooks.updateOne({ _id: webhookId, enabled: true }, { $set: { enabled: false, disabledReason: reason, updatedAt: new Date() } });
    });
  }
}
