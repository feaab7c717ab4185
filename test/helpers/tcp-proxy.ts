/**
 * A loopback TCP proxy: one public port, a backend that can be switched (a
 * load balancer sending reconnections to another replica) and connections
 * that can be cut (a network drop).
 */
import type { TCPSocketListener, Socket as TcpSocket } from "bun";

export interface TcpProxy {
  port: number;
  url: string;
  /** Sends new connections to another backend port. */
  retarget(port: number): void;
  /** Cuts every open connection, both ways. */
  dropAll(): void;
  close(): void;
}

/** Per connection: its other end, bytes waiting to be written to it, and bytes received before the other end existed. */
type Pipe = { peer?: TcpSocket<Pipe>; outbox: Uint8Array[]; early: Uint8Array[]; closed: boolean };

function send(to: TcpSocket<Pipe>, chunk: Uint8Array): void {
  if (to.data.outbox.length) {
    to.data.outbox.push(chunk.slice());
    return;
  }
  const written = to.write(chunk);
  // Test traffic is small; should the kernel buffer fill, the rest waits for "drain".
  if (written < chunk.length) to.data.outbox.push(chunk.slice(written));
}

function flush(socket: TcpSocket<Pipe>): void {
  const outbox = socket.data.outbox;
  while (outbox.length) {
    const chunk = outbox[0] as Uint8Array;
    const written = socket.write(chunk);
    if (written < chunk.length) {
      outbox[0] = chunk.slice(written);
      return;
    }
    outbox.shift();
  }
}

function forward(from: TcpSocket<Pipe>, chunk: Uint8Array): void {
  if (from.data.peer) send(from.data.peer, chunk);
  else from.data.early.push(chunk.slice());
}

export function tcpProxy(targetPort: number): TcpProxy {
  let target = targetPort;
  const open = new Set<TcpSocket<Pipe>>();
  const end = (socket: TcpSocket<Pipe> | undefined) => {
    if (!socket || socket.data.closed) return;
    socket.data.closed = true;
    open.delete(socket);
    socket.end();
  };
  const listener: TCPSocketListener<Pipe> = Bun.listen<Pipe>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { outbox: [], early: [], closed: false };
        open.add(client);
        Bun.connect<Pipe>({
          hostname: "127.0.0.1",
          port: target,
          data: { outbox: [], early: [], closed: false, peer: client },
          socket: {
            open(upstream) {
              open.add(upstream);
              if (client.data.closed) return end(upstream);
              client.data.peer = upstream;
              for (const chunk of client.data.early.splice(0)) send(upstream, chunk);
            },
            data: (upstream, chunk) => forward(upstream, chunk),
            drain: (upstream) => flush(upstream),
            close(upstream) {
              end(upstream);
              end(client);
            },
            error(upstream) {
              end(upstream);
              end(client);
            },
            // No backend listening: the client sees its connection closed, as behind a real balancer.
            connectError: () => end(client),
          },
        }).catch(() => end(client));
      },
      data: (client, chunk) => forward(client, chunk),
      drain: (client) => flush(client),
      close(client) {
        end(client);
        end(client.data.peer);
      },
      error(client) {
        end(client);
        end(client.data.peer);
      },
    },
  });
  return {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}`,
    retarget(port) {
      target = port;
    },
    dropAll() {
      for (const socket of [...open]) end(socket);
    },
    close() {
      for (const socket of [...open]) end(socket);
      listener.stop(true);
    },
  };
}
