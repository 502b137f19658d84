import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** What this process holds open, read from /proc/self: file descriptors, sockets and TCP connections by role. */

export interface OpenResources {
  /** Entries of /proc/self/fd (the directory handle the read opens included: a constant offset). */
  fds: number;
  /** Descriptors that are sockets of any kind: TCP, Unix (the IPC channel), pipes excluded. */
  sockets: number;
  /** This process's TCP sockets by role, matched to /proc/self/net/tcp{,6} by inode. */
  tcp: { listening: number; callers: number; upstream: number; other: number };
}

/** Ports that tell the roles apart: the gateway's own, and the upstreams' it connects to. */
export interface PortRoles {
  listenPort: number;
  upstreamPorts: ReadonlySet<number>;
}

const SOCKET_LINK = /^socket:\[(\d+)\]$/;
const TCP_LISTEN = "0A";

export function openResources(roles: PortRoles): OpenResources {
  const inodes = new Set<string>();
  let fds = 0;
  for (const fd of readdirSync("/proc/self/fd")) {
    fds++;
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed between the listing and the read, or the listing's own handle
    }
    const inode = SOCKET_LINK.exec(link)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  const tcp = { listening: 0, callers: 0, upstream: 0, other: 0 };
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const row of tcpRows(table)) {
      if (!inodes.has(row.inode)) continue; // the table lists the whole network namespace
      if (row.state === TCP_LISTEN) tcp.listening++;
      else if (row.localPort === roles.listenPort) tcp.callers++;
      else if (roles.upstreamPorts.has(row.remotePort)) tcp.upstream++;
      else tcp.other++;
    }
  }
  return { fds, sockets: inodes.size, tcp };
}

interface TcpRow {
  localPort: number;
  remotePort: number;
  state: string;
  inode: string;
}

/** Rows of /proc/net/tcp: `sl local_address rem_address st ... uid timeout inode`, addresses as HEXIP:HEXPORT. */
function tcpRows(path: string): TcpRow[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return []; // no IPv6 on this host
  }
  return text
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length > 9)
    .map((fields) => ({
      localPort: portOf(fields[1]),
      remotePort: portOf(fields[2]),
      state: fields[3] ?? "",
      inode: fields[9] ?? "",
    }));
}

function portOf(address: string | undefined): number {
  return Number.parseInt(address?.split(":")[1] ?? "", 16);
}
