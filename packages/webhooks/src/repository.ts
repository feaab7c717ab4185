/**
 * Webhooks and their deliveries in MongoDB, through the `mongodb` driver
 * (plain find / insert / updateOne / delete only). Reads for users are scoped
 * to their owner; "MongoDB is down" becomes a 503. Deliveries are kept for
 * WEBHOOK_DELIVERY_RETENTION_DAYS: each dialect's adapter expires them its
 * own way (mongodb-store.ts: a TTL index; ferretdb-v1-store.ts: a sweep).
 */
import { objectIdSchema } from "@pipeline/contracts/asset";
import type { DeliveryAttempt, DeliveryStatus, WebhookEventType } from "@pipeline/contracts/webhooks";
import type { Logger } from "@pipeline/runtime/logger";
import { guardMongo, type IndexSpec, type IndexSync, isDuplicateKey, type MongoDialect } from "@pipeline/runtime/mongo";
import { type Collection, type Db, ObjectId } from "mongodb";

export const WEBHOOKS_COLLECTION = "webhooks";
export const DELIVERIES_COLLECTION = "webhook_deliveries";

export interface WebhookDoc {
  _id: ObjectId;
  userId: ObjectId;
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
  webhookId: ObjectId;
  userId: ObjectId;
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

const objectId = (id: string) => new ObjectId(id);
// Strictly 24 hex (the contract's id): the driver also accepts 12-character strings as ids.
const isHexId = (id: string) => objectIdSchema.safeParse(id).success;

/** The indexes both adapters define. */
export const WEBHOOK_INDEXES: IndexSpec[] = [{ key: { userId: 1 }, name: "userId_1" }];
export const DELIVERY_INDEXES: IndexSpec[] = [{ key: { webhookId: 1, createdAt: -1 }, name: "webhookId_1_createdAt_-1" }];

export interface StoreSettings {
  /** How long a delivery record is kept, in days. */
  retentionDays: number;
}

/** The webhook store both adapters share; each adds its indexes and how old deliveries go. */
export abstract class WebhookRepository {
  abstract readonly dialect: MongoDialect;
  protected readonly webhooks: Collection<WebhookDoc>;
  protected readonly deliveries: Collection<DeliveryDoc>;

  constructor(
    db: Db,
    protected readonly settings: StoreSettings,
  ) {
    this.webhooks = db.collection<WebhookDoc>(WEBHOOKS_COLLECTION);
    this.deliveries = db.collection<DeliveryDoc>(DELIVERIES_COLLECTION);
  }

  /** Creates the missing indexes and reports those whose options differ (at start, beside serving: `createIndexesInBackground`). */
  abstract syncIndexes(): Promise<IndexSync>;

  /** Keeps deliveries within their retention while the service runs (the notifier); the stopper. */
  abstract expireDeliveries(logger: Logger): () => void;

  protected get retentionMs(): number {
    return this.settings.retentionDays * 86_400_000;
  }

  create(input: NewWebhook): Promise<WebhookDoc> {
    return guardMongo(async () => {
      const now = new Date();
      const doc: WebhookDoc = {
        _id: new ObjectId(),
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

  /** Every user with a webhook (to rebuild the owners' set in Redis). */
  ownerIds(): Promise<string[]> {
    return guardMongo(async () => (await this.webhooks.distinct("userId")).map((id) => String(id)));
  }

  /** The user's enabled webhooks that take events of `type`. */
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
  markFailing(webhookId: ObjectId, since: Date): Promise<void> {
    return guardMongo(async () => {
      await this.webhooks.updateOne({ _id: webhookId, failingSince: null }, { $set: { failingSince: since, updatedAt: new Date() } });
    });
  }

  /** Ends a failure streak (an attempt succeeded). */
  clearFailing(webhookId: ObjectId): Promise<void> {
    return guardMongo(async () => {
      await this.webhooks.updateOne({ _id: webhookId, failingSince: { $ne: null } }, { $set: { failingSince: null, updatedAt: new Date() } });
    });
  }

  disable(webhookId: ObjectId, reason: string): Promise<void> {
    return guardMongo(async () => {
      await this.webhooks.updateOne({ _id: webhookId, enabled: true }, { $set: { enabled: false, disabledReason: reason, updatedAt: new Date() } });
    });
  }
}
