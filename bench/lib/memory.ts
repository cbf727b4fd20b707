import { join } from "node:path";
import { fetchAppToken } from "../../test/support/app-token";
import { connectPeer } from "../../test/support/peer";
import { type Placement, roomQuery } from "./peers";
import { runtimeRss } from "./proc";
import { pool } from "./stats";
import { MANY_SOCKETS_VARS, startWrangler } from "./systems";
import { floorPair } from "./targets";

export interface MemoryRow {
  sockets: number;
  baselineMiB: number;
  /** MiB per 1,000 sockets just after they connected. */
  openMiB: number;
  /** MiB per 1,000 sockets once their objects were evicted (the sockets hibernate). */
  hibernatedMiB: number;
}

export interface MemoryCost {
  alone: MemoryRow;
  fiftyPerRoom: MemoryRow;
  runtimeFloor: MemoryRow;
}

/** Past the ~15 s after which idle objects are evicted while their sockets hibernate. */
const EVICTION_WAIT_MS = 25_000;

/**
 * Runtime memory per 1,000 idle sockets, both ways they can live: each alone
 * in its own object, and 50 to a room's object; and the runtime floor's raw
 * sockets, two to a forwarding object. The three run side by side, each in
 * its own `wrangler dev`: resident memory does not depend on CPU contention.
 */
export async function memoryPerSocket(sockets: number): Promise<MemoryCost> {
  const [alone, fiftyPerRoom, runtimeFloor] = await Promise.all([
    measureServer("own", sockets),
    measureServer("room", sockets),
    measureFloor(sockets),
  ]);
  return { alone, fiftyPerRoom, runtimeFloor };
}

async function measureServer(placement: Placement, count: number): Promise<MemoryRow> {
  const server = await startWrangler({ vars: MANY_SOCKETS_VARS });
  try {
    const appToken = await fetchAppToken(server.url, "bench");
    await new Promise((r) => setTimeout(r, 2000));
    const before = runtimeRss(server.pid);
    const tasks = Array.from(
      { length: count },
      (_, i) => () =>
        connectPeer({
          url: server.url,
          appToken,
          ...(placement === "room" ? { query: roomQuery(`memory-${Math.floor(i / 50)}`, appToken) } : {}),
        }),
    );
    const peers = (await pool(50, tasks)).flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    for (const peer of peers) peer.socket.offAny();
    const open = runtimeRss(server.pid);
    await new Promise((r) => setTimeout(r, EVICTION_WAIT_MS));
    const hibernated = runtimeRss(server.pid);
    for (const peer of peers) peer.close();
    return perThousand(peers.length, before, open, hibernated);
  } finally {
    await server.stop();
  }
}

async function measureFloor(count: number): Promise<MemoryRow> {
  const server = await startWrangler({ config: join(import.meta.dirname, "../floor/wrangler.toml") });
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const before = runtimeRss(server.pid);
    // Compression offered, as the socket.io-clients above do: the runtime keeps its state per socket.
    const tasks = Array.from({ length: count / 2 }, (_, i) => () => floorPair(server.url, `m${i}`, true));
    const pairs = (await pool(50, tasks)).flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    const open = runtimeRss(server.pid);
    await new Promise((r) => setTimeout(r, EVICTION_WAIT_MS));
    const hibernated = runtimeRss(server.pid);
    for (const ws of pairs) ws.close();
    return perThousand(pairs.length, before, open, hibernated);
  } finally {
    await server.stop();
  }
}

function perThousand(sockets: number, before: number, open: number, hibernated: number): MemoryRow {
  const per1000 = (bytes: number) => (((bytes - before) / sockets) * 1000) / 2 ** 20;
  return { sockets, baselineMiB: before / 2 ** 20, openMiB: per1000(open), hibernatedMiB: per1000(hibernated) };
}
