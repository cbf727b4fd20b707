import { setUpRoom } from "../../test/support/call";
import type { TestPeer } from "../../test/support/peer";
import { benchPeer, type Placement } from "./peers";
import { waitUntilQuiet } from "./proc";
import { pool, type Summary, summarize } from "./stats";

export interface SetupBatch {
  placement: Placement;
  rooms: number;
  seconds: number;
  perRoom: Summary;
  errors: number;
  firstError?: string;
}

/**
 * Call set-up at scale, with real socket.io-clients: for each batch size,
 * that many rooms of two (connect, auth, create, join request, accept), 50
 * set up at once, in both placements.
 */
export async function callSetupBatches(
  url: string,
  appToken: string,
  batches: number[],
  serverPids: () => number[],
  log: (line: string) => void,
): Promise<SetupBatch[]> {
  const out: SetupBatch[] = [];
  for (const placement of ["room", "own"] as Placement[]) {
    for (const rooms of batches) {
      const peers: TestPeer[] = [];
      const started = performance.now();
      const tasks = Array.from({ length: rooms }, (_, i) => async () => {
        const room = `setup-${placement}-${rooms}-${i}-${Date.now()}`;
        const t0 = performance.now();
        const a = await benchPeer(url, appToken, "a", room, placement);
        const b = await benchPeer(url, appToken, "b", room, placement);
        peers.push(a, b);
        await setUpRoom(room, a, b);
        return performance.now() - t0;
      });
      const settled = await pool(50, tasks);
      const seconds = (performance.now() - started) / 1000;
      const times = settled.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      const failures = settled.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      for (const peer of peers) peer.close();
      const row: SetupBatch = { placement, rooms, seconds, perRoom: summarize(times), errors: failures.length };
      if (failures[0]) row.firstError = String(failures[0].reason);
      out.push(row);
      log(`  ${placement} × ${rooms}: ${seconds.toFixed(1)} s, ${failures.length} errors`);
      await waitUntilQuiet(serverPids); // let the closes settle: up to 2,000 of them
    }
  }
  return out;
}
