/**
 * The gateway as the notifiers' front door (when NOTIFIER_URL is set): every
 * request under /socket.io/ goes to a notifier replica, HTTP long-polling as
 * it is and WebSocket upgrades relayed frame by frame, so a client needs only
 * the gateway's address however many notifiers run behind it. Which replica:
 * notifier-pool.ts (a new session takes the next replica in turn, a known
 * `sid` its holder). What the client sends (the handshake token included) and
 * what the notifier answers pass unchanged; Origin goes on, so the notifier's
 * own CORS_ORIGIN still decides.
 */
import type { Logger } from "@pipeline/runtime/logger";
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import type { NotifierPool } from "./notifier-pool.ts";

export const SOCKET_PATH = "/socket.io/";
/**
 * A long-poll GET waits for the notifier's next packet, at most its PING_INTERVAL_MS (25 s by default): past
 * the gateway's short IDLE_TIMEOUT_S, so the request gets this limit instead (Bun's maximum is 255 s).
 */
const POLL_TIMEOUT_S = 90;
/** Frames a client may send before the notifier side of its WebSocket opens (a Socket.IO client sends a handful). */
const MAX_PENDING_FRAMES = 64;
/** Engine.IO's own answer for a session it does not hold: the client starts a new session. */
const UNKNOWN_SESSION = JSON.stringify({ code: 1, message: "Session ID unknown" });
/** Connection-level headers, and the ones fetch or the WebSocket client set themselves. */
const NOT_FORWARDED = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
  // Uncompressed from the notifier: the body is passed on (and, for a handshake, read) as it is.
  "accept-encoding",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-accept",
]);

export interface ProxiedSocket {
  /** Replicas to try, in order, until one accepts the WebSocket (one only for a known session). */
  candidates: string[];
  pathAndQuery: string;
  headers: Record<string, string>;
  upstream?: WebSocket;
  /** Frames the client sent before the notifier's side opened. */
  pending: (string | Buffer)[];
  closed: boolean;
}

export interface SocketProxy {
  handles(request: Request): boolean;
  fetch(request: Request, server: Server<ProxiedSocket>): Promise<Response | undefined>;
  websocket: WebSocketHandler<ProxiedSocket>;
  /** Closes every relayed WebSocket (shutdown): its client reconnects, through another gateway if there is one. */
  closeAll(): void;
}

export function createSocketProxy(deps: { pool: NotifierPool; logger: Pick<Logger, "debug" | "warn"> }): SocketProxy {
  const { pool, logger } = deps;
  const open = new Set<ServerWebSocket<ProxiedSocket>>();

  async function fetchHandler(request: Request, server: Server<ProxiedSocket>): Promise<Response | undefined> {
    const url = new URL(request.url);
    const sid = url.searchParams.get("sid");
    const holder = sid ? pool.holder(sid) : undefined;
    if (sid && !holder) return unknownSession();
    const headers = forwardedHeaders(request, server, url);
    const pathAndQuery = `${url.pathname}${url.search}`;

    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      const candidates = holder ? [holder] : await pool.forNewSession();
      if (!candidates.length) return noNotifier();
      const data: ProxiedSocket = { candidates, pathAndQuery, headers, pending: [], closed: false };
      return server.upgrade(request, { data }) ? undefined : new Response("expected a WebSocket upgrade", { status: 400 });
    }

    server.timeout(request, POLL_TIMEOUT_S);
    if (holder && sid) {
      const answer = await forward(holder, request, pathAndQuery, headers);
      // Its replica is gone, or ended the session: either way the client must start a new one.
      if (!answer || answer.status === 400) pool.forget(sid);
      return answer ? passOn(answer) : unknownSession();
    }
    // A new session (the handshake): the next replica in turn, or the one after if it does not answer.
    for (const target of await pool.forNewSession()) {
      const answer = await forward(target, request, pathAndQuery, headers);
      if (!answer) continue;
      // A notifier that drops the connection mid-answer counts as one that did not answer.
      const body = await answer.text().catch(() => undefined);
      if (body === undefined) continue;
      const newSid = sessionIdOf(body);
      if (answer.ok && newSid) pool.remember(newSid, target);
      return passOn(answer, body);
    }
    return noNotifier();
  }

  async function forward(target: string, request: Request, pathAndQuery: string, headers: Record<string, string>): Promise<Response | undefined> {
    try {
      return await fetch(`${target}${pathAndQuery}`, {
        method: request.method,
        headers,
        body: request.method === "GET" || request.method === "HEAD" ? undefined : request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(POLL_TIMEOUT_S * 1000),
        // @ts-expect-error Bun/undici option for streaming request bodies
        duplex: "half",
      });
    } catch (error) {
      logger.warn({ target, err: (error as Error).message }, "notifier did not answer a socket request");
      return undefined;
    }
  }

  /** Opens the notifier's side of a relayed WebSocket, trying the next candidate when one refuses. */
  function connectUpstream(ws: ServerWebSocket<ProxiedSocket>): void {
    const target = ws.data.candidates.shift();
    if (!target) {
      ws.close(1011, "no notifier answers");
      return;
    }
    const upstream = new WebSocket(`${target.replace(/^http/, "ws")}${ws.data.pathAndQuery}`, { headers: ws.data.headers } as never);
    upstream.binaryType = "arraybuffer";
    let opened = false;
    upstream.onopen = () => {
      opened = true;
      if (ws.data.closed) return upstream.close(1000);
      ws.data.upstream = upstream;
      for (const frame of ws.data.pending.splice(0)) upstream.send(frame);
    };
    upstream.onmessage = (event) => ws.send(event.data as string | ArrayBuffer);
    upstream.onclose = (event) => {
      if (ws.data.closed) return;
      if (!opened && ws.data.candidates.length) {
        logger.warn({ target }, "notifier refused a WebSocket; trying the next replica");
        return connectUpstream(ws);
      }
      ws.close(sendableCode(event.code), event.reason);
    };
  }

  const websocket: WebSocketHandler<ProxiedSocket> = {
    open(ws) {
      open.add(ws);
      connectUpstream(ws);
    },
    message(ws, message) {
      const upstream = ws.data.upstream;
      if (upstream?.readyState === WebSocket.OPEN) upstream.send(message);
      // Held only until the notifier's side opens; a client that floods before then is told to come back.
      else if (ws.data.pending.length >= MAX_PENDING_FRAMES) ws.close(1013, "too many frames before the notifier answered");
      else ws.data.pending.push(message);
    },
    close(ws, code, reason) {
      open.delete(ws);
      ws.data.closed = true;
      ws.data.upstream?.close(sendableCode(code), reason);
    },
  };

  return {
    handles: (request) => new URL(request.url).pathname.startsWith(SOCKET_PATH),
    fetch: fetchHandler,
    websocket,
    closeAll() {
      for (const ws of open) ws.close(1001, "gateway shutting down");
      logger.debug({ sessions: pool.sessionCount }, "socket proxy closed");
    },
  };
}

function forwardedHeaders(request: Request, server: Server<ProxiedSocket>, url: URL): Record<string, string> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    if (!NOT_FORWARDED.has(name)) headers[name] = value;
  });
  const client = server.requestIP(request)?.address;
  if (client) headers["x-forwarded-for"] = headers["x-forwarded-for"] ? `${headers["x-forwarded-for"]}, ${client}` : client;
  headers["x-forwarded-host"] = url.host;
  headers["x-forwarded-proto"] = url.protocol.replace(":", "");
  return headers;
}

/** The notifier's answer with its status and headers; `body` when it was already read. */
function passOn(answer: Response, body?: string): Response {
  const headers = new Headers(answer.headers);
  for (const name of ["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"]) headers.delete(name);
  return new Response(body ?? answer.body, { status: answer.status, headers });
}

/**
 * The sid of an Engine.IO handshake answer: its open packet, `0{"sid":...}` (v4 payloads separate packets
 * with \x1e), or undefined for anything else.
 */
export function sessionIdOf(body: string): string | undefined {
  const first = body.split("\x1e")[0] ?? "";
  if (!first.startsWith("0{")) return undefined;
  try {
    const sid = (JSON.parse(first.slice(1)) as { sid?: unknown }).sid;
    return typeof sid === "string" && sid ? sid : undefined;
  } catch {
    return undefined;
  }
}

/** A close code a WebSocket may send (1005, 1006 and 1015 are only reported, never sent). */
function sendableCode(code: number | undefined): number {
  return code === 1000 || (code !== undefined && code >= 3000 && code <= 4999) ? code : 1000;
}

const unknownSession = () => new Response(UNKNOWN_SESSION, { status: 400, headers: { "content-type": "application/json" } });
const noNotifier = () =>
  Response.json({ error: { code: "unavailable", message: "no notifier answers: try again shortly" } }, { status: 503, headers: { "retry-after": "2" } });
