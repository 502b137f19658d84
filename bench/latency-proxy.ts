import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

export interface LatencyProxy {
  port: number;
  /** Connections accepted so far: each one paid a simulated TCP handshake. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy that makes loopback behave like a network with round-trip time `rttMs`: every
 * byte is held rtt/2 in each direction, and a new connection's first bytes are held one extra
 * RTT, the time a client would have spent on the SYN / SYN-ACK exchange before it could send.
 * TLS passes through untouched, so its handshake round trips are paid too.
 */
export async function startLatencyProxy(
  target: { host: string; port: number },
  rttMs: number,
): Promise<LatencyProxy> {
  const oneWay = rttMs / 2;
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((client) => {
    connections++;
    client.setNoDelay(true);
    // Reading starts once the simulated handshake is over; the client's early bytes wait in the kernel.
    client.pause();
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
    }
    setTimeout(() => client.resume(), rttMs);
    pipeDelayed(client, upstream, oneWay);
    pipeDelayed(upstream, client, oneWay);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Forwards bytes, end and errors from `from` to `to`, each `delayMs` late and in order. */
function pipeDelayed(from: Socket, to: Socket, delayMs: number): void {
  // Timers of equal duration fire in the order they were set, so chunks keep their order.
  from.on("data", (chunk: Buffer) => {
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
    }, delayMs);
  });
  from.once("end", () => setTimeout(() => to.end(), delayMs));
  from.once("error", () => setTimeout(() => to.destroy(), delayMs));
  from.once("close", () => setTimeout(() => to.destroy(), delayMs + 1));
}
