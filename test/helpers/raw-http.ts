/**
 * HTTP/1.1 over a bare TCP socket, for what fetch will not send: headers one
 * byte at a time, a Content-Length that lies, Content-Length together with
 * Transfer-Encoding, pipelined requests, and thousands of idle connections.
 */
import { connect, type Socket } from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  /** The responses, in order, as far as they arrived complete. */
  responses: RawResponse[];
  /** The server closed the connection (rather than the exchange timing out). */
  closedByServer: boolean;
  ms: number;
}

/**
 * Writes `data` on a fresh connection (several pieces: `gapMs` apart), then
 * reads until `responses` complete answers arrived (and, if the last says
 * `Connection: close`, the connection closed), the server closed the
 * connection, or `timeoutMs` passed.
 */
export function rawExchange(
  port: number,
  data: string | Uint8Array | (string | Uint8Array)[],
  options: { responses?: number; timeoutMs?: number; gapMs?: number } = {},
): Promise<RawExchange> {
  const wanted = options.responses ?? 1;
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (closedByServer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses: parseResponses(received), closedByServer, ms: Math.round(performance.now() - started) });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
    socket.on("data", (bytes: Buffer) => {
      received = Buffer.concat([received, bytes]);
      const responses = parseResponses(received);
      if (responses.length >= wanted && responses.at(-1)?.headers.connection !== "close") finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
    void (async () => {
      for (const [index, piece] of (Array.isArray(data) ? data : [data]).entries()) {
        if (index > 0) await Bun.sleep(options.gapMs ?? 200);
        if (!settled) socket.write(piece);
      }
    })();
  });
}

/** Complete responses at the start of `bytes` (Content-Length or chunked bodies, or none for a status that closes). */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headEnd = bytes.indexOf("\r\n\r\n", offset);
    if (headEnd === -1) break;
    const [statusLine = "", ...lines] = bytes.subarray(offset, headEnd).toString("latin1").split("\r\n");
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    let cursor = headEnd + 4;
    let body: Buffer;
    if (headers["transfer-encoding"]?.includes("chunked")) {
      const pieces: Buffer[] = [];
      for (;;) {
        const sizeEnd = bytes.indexOf("\r\n", cursor);
        if (sizeEnd === -1) return responses;
        const size = Number.parseInt(bytes.subarray(cursor, sizeEnd).toString("latin1"), 16);
        if (bytes.length < sizeEnd + 2 + size + 2) return responses;
        pieces.push(bytes.subarray(sizeEnd + 2, sizeEnd + 2 + size));
        cursor = sizeEnd + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(pieces);
    } else {
      const length = Number(headers["content-length"] ?? 0);
      if (bytes.length < cursor + length) break;
      body = bytes.subarray(cursor, cursor + length);
      cursor += length;
    }
    responses.push({ status: Number(statusLine.split(" ")[1]), headers, body: body.toString("utf8") });
    offset = cursor;
  }
  return responses;
}

export interface TrickleResult {
  /** Milliseconds from connecting until the server closed the connection; undefined if it was still open at the deadline. */
  closedAfterMs: number | undefined;
  bytesSent: number;
  /** Anything the server sent back (a slowloris connection should get nothing). */
  received: string;
}

/**
 * Sends `data` one byte every `intervalMs` (a slowloris client) until the
 * server closes the connection or `deadlineMs` passes. With `firstRequest`,
 * that request is sent whole first, and the trickle starts once its answer
 * came: the slow headers are then a keep-alive connection's second request.
 */
export function trickle(port: number, data: string, options: { intervalMs: number; deadlineMs: number; firstRequest?: string }): Promise<TrickleResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, "127.0.0.1");
    let sent = 0;
    let received = "";
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearInterval(ticker);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ closedAfterMs: closed ? Math.round(performance.now() - started) : undefined, bytesSent: sent, received });
    };
    let answered = !options.firstRequest;
    if (options.firstRequest) socket.write(options.firstRequest);
    const ticker = setInterval(() => {
      if (answered && sent < data.length && socket.writable) socket.write(data[sent++] ?? "");
    }, options.intervalMs);
    const deadline = setTimeout(() => finish(false), options.deadlineMs);
    socket.on("data", (bytes: Buffer) => {
      received += bytes.toString("latin1");
      answered = true;
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => finish(true));
  });
}

/** Opens `count` connections, each sending `firstRequest` (if any) and then staying open and silent. */
export async function openIdleConnections(port: number, count: number, firstRequest?: string): Promise<{ sockets: Socket[]; closedByServer: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(port, "127.0.0.1", () => {
            if (firstRequest) socket.write(firstRequest);
            resolve(socket);
          });
          socket.once("error", reject);
          socket.on("close", () => closed++);
          // Read (and drop) the answers: a socket whose data is never read never sees the server's close.
          socket.resume();
          // After connecting, errors (a reset when the server drops it) only count as a close.
          socket.on("connect", () => socket.removeListener("error", reject).on("error", () => undefined));
        }),
    ),
  );
  return { sockets, closedByServer: () => closed };
}
