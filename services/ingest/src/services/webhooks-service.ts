/** What ingest does with a user's webhooks: register (checking the target), list, delete, and show recent deliveries. */
import type { CreatedWebhook, CreateWebhook, DeliveryList, WebhookList } from "@pipeline/contracts/webhooks";
import { WEBHOOK_EVENT_TYPES } from "@pipeline/contracts/webhooks";
import { HttpError, orUnavailable } from "@pipeline/runtime/http";
import type { Logger } from "@pipeline/runtime/logger";
import {
  checkTarget,
  newSecret,
  type TargetPolicy,
  toDeliveryResponse,
  toWebhookResponse,
  UnresolvableTargetError,
  UnsafeTargetError,
  type WebhookOwners,
  type WebhookRepository,
} from "@pipeline/webhooks";

/** Each event is sent to every webhook of its owner: a bound keeps one user from fanning out without end. */
export const MAX_WEBHOOKS_PER_USER = 20;
/** Deliveries shown per webhook, newest first. */
export const DELIVERIES_SHOWN = 50;

export type WebhookStore = Pick<WebhookRepository, "create" | "listOwned" | "findOwned" | "deleteOwned" | "listDeliveries">;

export class WebhooksService {
  constructor(
    private readonly repository: WebhookStore,
    private readonly policy: TargetPolicy,
    private readonly logger: Logger,
    private readonly owners: Pick<WebhookOwners, "add">,
  ) {}

  async create(userId: string, input: CreateWebhook): Promise<CreatedWebhook> {
    await this.checkTarget(input.url);
    if ((await this.repository.listOwned(userId)).length >= MAX_WEBHOOKS_PER_USER)
      throw new HttpError(409, "conflict", `at most ${MAX_WEBHOOKS_PER_USER} webhooks per user; delete one first`);
    const requested = input.events ?? WEBHOOK_EVENT_TYPES;
    const events = WEBHOOK_EVENT_TYPES.filter((type) => requested.includes(type));
    // First, so the notifier never skips this user's events once the webhook exists.
    await orUnavailable("redis", () => this.owners.add(userId));
    const webhook = await this.repository.create({ userId, url: input.url, events, secret: newSecret() });
    const id = webhook._id.toHexString();
    this.logger.info({ webhookId: id, userId, events }, "webhook registered");
    return { id, url: webhook.url, events, secret: webhook.secret };
  }

  async list(userId: string): Promise<WebhookList> {
    return { items: (await this.repository.listOwned(userId)).map(toWebhookResponse) };
  }

  async delete(id: string, userId: string): Promise<void> {
    if (!(await this.repository.deleteOwned(id, userId))) throw notFound();
    this.logger.info({ webhookId: id, userId }, "webhook deleted");
  }

  async deliveries(id: string, userId: string): Promise<DeliveryList> {
    const webhook = await this.repository.findOwned(id, userId);
    if (!webhook) throw notFound();
    return { items: (await this.repository.listDeliveries(id, DELIVERIES_SHOWN)).map(toDeliveryResponse) };
  }

  /** Refuses unsafe targets (400); a name that does not resolve now is accepted, as every delivery checks again. */
  private async checkTarget(url: string): Promise<void> {
    try {
      await checkTarget(url, this.policy);
    } catch (error) {
      if (error instanceof UnsafeTargetError) throw new HttpError(400, "bad_request", `url: ${error.message}`);
      if (error instanceof UnresolvableTargetError) {
        this.logger.info({ err: error.message }, "webhook target does not resolve yet; accepted (each delivery checks again)");
        return;
      }
      throw error;
    }
  }
}

const notFound = () => new HttpError(404, "not_found", "webhook not found");
