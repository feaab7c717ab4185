/**
 * Uploads as a careful client sends them: each with its own Idempotency-Key,
 * retried with the same key while the answer is "try again" (no answer, 502,
 * 503, 504, or 409 "still in progress"), so an upload whose answer was lost
 * in a crash is not made twice. An upload not accepted within the retry
 * window counts as refused.
 */

export interface UploadRecord {
  index: number;
  user: number;
  key: string;
  /** Date.now() of the first attempt and of the last answer. */
  sentAt: number;
  answeredAt: number;
  /** Each attempt's status; 0 when no answer came (connection refused or cut). */
  statuses: number[];
  outcome: "accepted" | "refused";
  assetId?: string;
  /** The 202 was the first request's answer again (`Idempotent-Replayed: true`). */
  replayed: boolean;
}

const RETRYABLE = new Set([0, 409, 502, 503, 504]);

export interface UploadRequest {
  gatewayUrl: string;
  index: number;
  user: number;
  token: string;
  image: Uint8Array;
  category: string;
  /** How long to keep retrying, from the first attempt. */
  retryForMs: number;
}

export async function uploadWithRetries(request: UploadRequest): Promise<UploadRecord> {
  const key = `chaos-${request.index}-${crypto.randomUUID()}`;
  const record: UploadRecord = {
    index: request.index,
    user: request.user,
    key,
    sentAt: Date.now(),
    answeredAt: 0,
    statuses: [],
    outcome: "refused",
    replayed: false,
  };
  for (let attempt = 0; ; attempt++) {
    const form = new FormData();
    form.append("image", new File([request.image as BlobPart], "photo.png", { type: "image/png" }));
    form.append("category", request.category);
    let status = 0;
    try {
      // Longer than ingest's 15 s wait on a key still in progress, so that wait ends in its 409, not here.
      const response = await fetch(`${request.gatewayUrl}/api/assets/analyze-queue`, {
        method: "POST",
        body: form,
        headers: { authorization: `Bearer ${request.token}`, "idempotency-key": key },
        signal: AbortSignal.timeout(40_000),
      });
      status = response.status;
      if (status === 202) {
        record.assetId = ((await response.json()) as { assetId: string }).assetId;
        record.replayed = response.headers.get("idempotent-replayed") === "true";
        record.outcome = "accepted";
      } else await response.body?.cancel();
    } catch {
      status = 0;
    }
    record.statuses.push(status);
    record.answeredAt = Date.now();
    if (status === 202 || !RETRYABLE.has(status) || Date.now() - record.sentAt > request.retryForMs) return record;
    await Bun.sleep(Math.min(2000, 250 * 2 ** attempt));
  }
}
