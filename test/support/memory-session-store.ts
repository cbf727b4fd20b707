import type { SessionStore, StoredSession } from "../../src/durable/recovery/session-store";
import type { LoggedEvent } from "../../src/socket/recovery";

interface Moved {
  pid: string;
  socketId: string;
  movedTo: string;
  expiresAt: number;
}

/**
 * The recovery tables of one object, in memory, for unit tests of the jobs
 * above them (src/durable/recovery/session-store.ts is tested on SQLite in
 * test/worker/session-store.test.ts). Same methods, same meaning.
 */
export class MemorySessionStore implements Pick<SessionStore, keyof SessionStore> {
  readonly sessions = new Map<string, StoredSession>();
  readonly eventsByPid = new Map<string, LoggedEvent[]>();
  readonly movedByPidMap = new Map<string, Moved>();
  /** Every write, in order, by method name: what a test counts. */
  readonly writes: string[] = [];

  save(session: StoredSession): void {
    this.writes.push("save");
    this.sessions.set(session.pid, structuredClone(session));
  }
  saveEvents(pid: string, events: readonly LoggedEvent[]): void {
    this.writes.push("saveEvents");
    this.eventsByPid.set(pid, [...events]);
  }
  saveLog(pid: string, next: number, events: readonly LoggedEvent[]): void {
    const session = this.sessions.get(pid);
    if (!session) return;
    this.writes.push("saveLog");
    session.next = next;
    this.eventsByPid.set(pid, [...events]);
  }
  keptTotals(): { sessions: number; bytes: number } {
    const kept = [...this.sessions.values()].filter((s) => s.expiresAt !== null);
    return { sessions: kept.length, bytes: kept.reduce((sum, s) => sum + s.keptBytes, 0) };
  }
  isEmpty(): boolean {
    return this.sessions.size === 0 && this.movedByPidMap.size === 0;
  }
  deleteEvent(pid: string, offset: number): void {
    this.eventsByPid.set(
      pid,
      (this.eventsByPid.get(pid) ?? []).filter((e) => e.offset !== offset),
    );
  }
  oldestRoomless(): StoredSession | null {
    const roomless = [...this.sessions.values()]
      .filter((s) => s.expiresAt !== null && s.state.rooms.length === 0 && s.state.requested.length === 0)
      .sort((a, b) => (a.detachedAt ?? 0) - (b.detachedAt ?? 0));
    return roomless[0] ? structuredClone(roomless[0]) : null;
  }
  addEvent(pid: string, event: LoggedEvent): void {
    this.writes.push("addEvent");
    const events = (this.eventsByPid.get(pid) ?? []).filter((e) => e.offset !== event.offset);
    this.eventsByPid.set(
      pid,
      [...events, event].sort((a, b) => a.offset - b.offset),
    );
  }
  events(pid: string): LoggedEvent[] {
    return [...(this.eventsByPid.get(pid) ?? [])];
  }
  byPid(pid: string): StoredSession | null {
    const session = this.sessions.get(pid);
    return session ? structuredClone(session) : null;
  }
  bySocket(socketId: string): StoredSession | null {
    const session = [...this.sessions.values()].find((s) => s.state.socketId === socketId);
    return session ? structuredClone(session) : null;
  }
  all(): StoredSession[] {
    return [...this.sessions.values()].map((s) => structuredClone(s));
  }
  delete(pid: string): void {
    this.writes.push("delete");
    this.sessions.delete(pid);
    this.eventsByPid.delete(pid);
  }
  moved(moved: Moved): void {
    this.movedByPidMap.set(moved.pid, { ...moved });
  }
  movedByPid(pid: string): Moved | null {
    return this.movedByPidMap.get(pid) ?? null;
  }
  movedBySocket(socketId: string): Moved | null {
    return [...this.movedByPidMap.values()].find((m) => m.socketId === socketId) ?? null;
  }
  allMoved(): Moved[] {
    return [...this.movedByPidMap.values()];
  }
  forgetMoved(pid: string): void {
    this.movedByPidMap.delete(pid);
  }
}
