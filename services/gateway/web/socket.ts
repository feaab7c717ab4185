/**
 * Live updates: the notifier's events (through the typed client's
 * subscription, which catches up over HTTP on every connect the server did
 * not resume) applied to the list, and the socket's state shown.
 */
import type { AssetDeletedEvent, AssetProcessedEvent, AssetProgressEvent, AssetResponse, Client, Subscription } from "@pipeline/client";
import { announce, type CardList, setSocketState } from "./render.ts";
import { describe, describeOutcome, fromAsset, items, titleOf, withOutcome } from "./state.ts";

export interface LiveUpdates {
  client: Client;
  list: CardList;
  /** ISO time to catch up from on the first connect. */
  since: string;
  /** The session is over (its token expired); the socket is closed by the caller. */
  onSessionExpired(): void;
}

export function followEvents({ client, list, since, onSessionExpired }: LiveUpdates): Subscription {
  /** Shows an Asset as the server has it, and says what became of it. */
  const showFinal = (asset: AssetResponse) => {
    const shown = fromAsset(asset, items.get(asset.id));
    list.show(shown);
    announce(describeOutcome(shown));
  };

  function applyOutcome(event: AssetProcessedEvent): void {
    const item = items.get(event.assetId);
    // Not listed yet (its upload's answer is still on the way, or it is older than the pages shown): read it.
    if (!item)
      return void client
        .get(event.assetId)
        .then(showFinal)
        .catch(() => undefined);
    const next = withOutcome(item, event);
    list.show(next);
    announce(describeOutcome(next));
    // The event carries no source: the Asset says whether these confidences are calibrated.
    if (event.status === "active")
      void client
        .get(event.assetId)
        .then((asset) => {
          const current = items.get(asset.id);
          if (current?.status === "active") list.show(fromAsset(asset, current));
        })
        .catch(() => undefined);
  }

  function applyProgress(event: AssetProgressEvent): void {
    const item = items.get(event.assetId);
    if (item?.status === "processing") list.show({ ...item, stage: event.stage });
  }

  function applyDeleted(event: AssetDeletedEvent): void {
    const item = items.get(event.assetId);
    if (!item) return;
    list.remove(event.assetId);
    announce(`${titleOf(item)} was deleted.`);
  }

  setSocketState("offline");
  return client.subscribe(
    {
      asset_processed: applyOutcome,
      asset_progress: applyProgress,
      asset_deleted: applyDeleted,
      session: () => setSocketState("live"),
      session_expired: onSessionExpired,
      onCatchUp: (assets) => {
        for (const asset of assets) showFinal(asset);
      },
      onConnect: () => setSocketState("live"),
      onDisconnect: () => setSocketState("reconnecting"),
      onError: (error) => setSocketState("error", describe(error)),
    },
    { since },
  );
}
