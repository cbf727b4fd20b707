import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SessionStore, type StoredSession } from "../../src/durable/recovery/session-store";
import { newConnection } from "../../src/signaling/connection-state";

/** Runs `body` on the SQLite storage of a fresh Durable Object. */
function withStorage(body: (sql: SqlStorage) => void | Promise<void>): Promise<void> {
  return runInDurableObject(env.ROOMS.get(env.ROOMS.newUniqueId()), (_instance, state) => body(state.storage.sql));
}

function session(pid: string, socketId: string, changes: Partial<StoredSession> = {}): StoredSession {
  const state = {
    ...newConnection({ engineId: `e-${socketId}`, socketId, openedAt: 1_000, app: "demo" }),
    connected: true,
    authenticated: true,
    peerinfo: { name: "Ada", tags: ["x"] },
    rooms: ["lobby"],
    recovery: true,
    pid,
  };
  return {
    pid,
    state,
    next: 3,
    detachedAt: null,
    expiresAt: null,
    lossy: false,
    keptCount: 0,
    keptBytes: 0,
    ...changes,
  };
}

const tables = (sql: SqlStorage) =>
  sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'recovery_%'")
    .toArray()
    .map((row) => row.name)
    .sort();

describe("recoverable sessions in an object's SQLite storage", () => {
  it("reads nothing and creates no table in an object whose clients never opted in", () =>
    withStorage((sql) => {
      const store = new SessionStore(sql);
      expect(store.byPid("p1")).toBeNull();
      expect(store.bySocket("s1")).toBeNull();
      expect(store.all()).toEqual([]);
      expect(store.events("p1")).toEqual([]);
      expect(store.movedBySocket("s1")).toBeNull();
      store.delete("p1");
      store.forgetMoved("p1");
      expect(tables(sql)).toEqual([]);
    }));

  it("keeps a session as it was saved, found by pid or socket, and saving again replaces it", () =>
    withStorage((sql) => {
      const store = new SessionStore(sql);
      const saved = session("p1", "s1");
      store.save(saved);
      expect(tables(sql)).toEqual(["recovery_event", "recovery_moved", "recovery_session"]);
      expect(store.byPid("p1")).toEqual(saved);
      expect(store.bySocket("s1")).toEqual(saved);
      const dropped = session("p1", "s1", {
        detachedAt: 5_000,
        expiresAt: 35_000,
        lossy: true,
        keptCount: 2,
        keptBytes: 40,
      });
      store.save(dropped);
      expect(store.all()).toEqual([dropped]);
      // A fresh store on the same storage (a restarted object) reads the same.
      expect(new SessionStore(sql).byPid("p1")).toEqual(dropped);
    }));

  it("keeps a session's events in offset order, replaces them all at once, and deletes them with it", () =>
    withStorage((sql) => {
      const store = new SessionStore(sql);
      store.save(session("p1", "s1"));
      store.saveEvents("p1", [
        { offset: 1, frame: "one" },
        { offset: 2, frame: "two" },
      ]);
      store.addEvent("p1", { offset: 0, frame: "zero" });
      expect(store.events("p1").map((event) => event.frame)).toEqual(["zero", "one", "two"]);
      store.saveEvents("p1", [{ offset: 7, frame: "seven" }]);
      expect(store.events("p1")).toEqual([{ offset: 7, frame: "seven" }]);
      store.delete("p1");
      expect(store.byPid("p1")).toBeNull();
      expect(store.events("p1")).toEqual([]);
    }));

  it("remembers where a session moved, by pid and by socket, until told to forget", () =>
    withStorage((sql) => {
      const store = new SessionStore(sql);
      const moved = { pid: "p1", socketId: "s1", movedTo: "object-2", expiresAt: 9_000 };
      store.moved(moved);
      expect(store.movedByPid("p1")).toEqual(moved);
      expect(store.movedBySocket("s1")).toEqual(moved);
      expect(store.allMoved()).toEqual([moved]);
      store.forgetMoved("p1");
      expect(store.allMoved()).toEqual([]);
    }));
});
