import type { RedisClientType } from "redis";
import type { KvStore } from "../../src/signaling/kv-store";
import type { RoomRef } from "../../src/signaling/room-store";
import { MemoryRedis } from "../../test/support/memory-redis";

/**
 * Where the Node comparator keeps its rooms. The signaling rules read and
 * write a synchronous {@link KvStore}; `run` hands one rule a store holding
 * room `ref` and keeps what it wrote. `writes`: false when the rule only reads
 * (a relay), which spares a store that must write back the work.
 */
export interface RoomState {
  /** Whether other processes share these rooms (and hold some of their members' sockets). */
  shared: boolean;
  run<T>(ref: RoomRef, writes: boolean, rule: (kv: KvStore) => T): Promise<T>;
}

/** One process: every room in this process's memory. */
export function memoryRooms(): RoomState {
  const kv = new MemoryRedis();
  return { shared: false, run: async (_ref, _writes, rule) => rule(kv) };
}

/**
 * Several processes sharing a Redis server, as the original server scales:
 * a rule runs on a copy of its room's hashes (src/signaling/room-store.ts:
 * meta, members, pending) read in one round trip, and what it changed is
 * written back in one MULTI. A relay only reads (its sender's and receiver's
 * membership: meta and members), so it costs one round trip of two HGETALLs.
 *
 * One room's writes are one at a time within a process; across processes
 * they are not guarded (no WATCH): the bench never changes one room from two
 * processes at once (a call's set-up is one step after another).
 */
export function redisRooms(client: RedisClientType): RoomState {
  const queues = new Map<string, Promise<unknown>>();
  const read = (keys: string[]) => Promise.all(keys.map((key) => client.hGetAll(key)));
  const store = (keys: string[], hashes: Array<Record<string, string>>) => {
    const kv = new MemoryRedis();
    for (const [i, hash] of hashes.entries()) {
      for (const [field, value] of Object.entries(hash)) kv.hset(keys[i] as string, field, value);
    }
    return kv;
  };
  const write = async (keys: string[], before: Array<Record<string, string>>, after: MemoryRedis) => {
    const multi = client.multi();
    let changed = false;
    for (const [i, key] of keys.entries()) {
      const now = after.hgetall(key);
      if (JSON.stringify(now) === JSON.stringify(before[i])) continue;
      changed = true;
      multi.del(key);
      if (Object.keys(now).length > 0) multi.hSet(key, now);
    }
    if (changed) await multi.exec();
  };
  return {
    shared: true,
    async run(ref, writes, rule) {
      const prefix = `room:${JSON.stringify([ref.app, ref.room])}`;
      if (!writes) {
        const keys = [`${prefix}:meta`, `${prefix}:members`];
        return rule(store(keys, await read(keys)));
      }
      const keys = [`${prefix}:meta`, `${prefix}:members`, `${prefix}:pending`];
      const previous = queues.get(prefix) ?? Promise.resolve();
      const task = previous.then(async () => {
        const before = await read(keys);
        const kv = store(keys, before);
        const result = rule(kv);
        await write(keys, before, kv);
        return result;
      });
      const settled = task.catch(() => {});
      queues.set(prefix, settled);
      void settled.then(() => {
        if (queues.get(prefix) === settled) queues.delete(prefix);
      });
      return task;
    },
  };
}
