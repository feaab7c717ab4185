/** The notifier's Prometheus metrics, besides the process defaults. */
import { counter, histogram } from "@pipeline/runtime/metrics";
import { Gauge, type Registry } from "prom-client";
import type { Server } from "socket.io";

export function notifierMetrics(registry: Registry) {
  return {
    /** Client events this replica took from BullMQ and broadcast (each counts on exactly one replica). */
    emitted: counter(registry, "client_events_emitted_total", "Client events broadcast by this replica, by event", ["event"]),
    dropped: counter(registry, "client_events_dropped_total", "Client events about a deleted asset, dropped by this replica, by event", ["event"]),
    /** Final events taken again (a retry, or a take-over from a replica that died) and found already in the stream: not written twice. */
    duplicates: counter(registry, "client_events_duplicates_total", "Client events found already written to the stream, not written again, by event", [
      "event",
    ]),
    /** Outcomes this replica took from BullMQ and broadcast (each outcome counts on exactly one replica). */
    processed: counter(registry, "asset_processed_emitted_total", "asset_processed events broadcast by this replica, by status", ["status"]),
    outcomeLag: histogram(
      registry,
      "asset_outcome_lag_seconds",
      "Time from an outcome being queued to its broadcast",
      [],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
    ),
    connections: counter(registry, "socketio_connections_total", "Sockets accepted by this replica, by whether their session was recovered", ["recovered"]),
    replayed: counter(registry, "socketio_replayed_events_total", "Missed events replayed to recovered sockets"),
    /** Webhook delivery attempts by outcome: succeeded, retried (failed, retries remain) or failed (no more attempts). */
    webhookDeliveries: counter(registry, "webhook_deliveries_total", "Webhook delivery attempts by this replica, by outcome", ["outcome"]),
  };
}
export type NotifierMetrics = ReturnType<typeof notifierMetrics>;

/** Sockets connected to this replica, read at scrape time. */
export function connectedSocketsGauge(registry: Registry, io: Server): Gauge {
  return new Gauge({
    name: "socketio_connected_sockets",
    help: "Sockets currently connected to this replica",
    registers: [registry],
    collect() {
      this.set(io.of("/").sockets.size);
    },
  });
}
