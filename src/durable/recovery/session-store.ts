import type { ConnectionState } from "../../signaling/connection-state";
import type { LoggedEvent } from "../../socket/recovery";

/** A recoverable session as storage holds it. */
export interface StoredSession {
  pid: string;
  state: ConnectionState;
  /** The offset its next event gets. */
  next: number;
  /** When its connection dropped; null while storage last knew it connected. */
  detachedAt: number | null;
  /** When it ends unless resumed; null while connected. */
  expiresAt: number | null;
  /** Events may have been lost (a restart): a resume gets what follows its offset, or all that is kept if the offset cannot be placed. */
  lossy: boolean;
  /**
   * While dropped: the events kept for it (the last it was sent before the
   * drop, and those it missed since), and their size, which the session's
   * one budget and the object's bounds count. (Stored as missed_count and
   * missed_bytes: the columns of an earlier release, which counted only the missed.)
   */
  keptCount: number;
  keptBytes: number;
}

/** A session that moved to another object: deliveries for its socket go there until it expires. */
interface MovedSession {
  pid: string;
  socketId: string;
  movedTo: string;
  expiresAt: number;
}

/** A session as stored while connected (`next`: the offset its next event gets), or as it dropped. */
export function storedSession(
  state: ConnectionState,
  next: number,
  dropped: { at: number; until: number } | null = null,
): StoredSession {
  return {
    pid: state.pid as string,
    state,
    next,
    detachedAt: dropped?.at ?? null,
    expiresAt: dropped?.until ?? null,
    lossy: false,
    keptCount: 0,
    keptBytes: 0,
  };
}

/**
 * Recoverable sessions in an object's SQLite storage. Written when a session
 * starts, when what it is changes (auth, rooms), when it drops, and for each
 * event it misses while dropped: never for an event sent to a connected
 * socket. Tables are created by the first write, so objects whose clients
 * never opt in keep none.
 */
export class SessionStore {
  #tables: boolean | undefined;

  constructor(private readonly sql: SqlStorage) {}

  save(session: StoredSession): void {
    this.#create();
    // One session per socket id: a row of it under another pid (which should not happen) gives way.
    this.sql.exec("DELETE FROM recovery_session WHERE socket_id = ? AND pid != ?", session.state.socketId, session.pid);
    this.sql.exec(
      `INSERT INTO recovery_session (pid, socket_id, state, next, detached_at, expires_at, lossy, missed_count, missed_bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (pid) DO UPDATE SET socket_id = excluded.socket_id, state = excluded.state, next = excluded.next,
         detached_at = excluded.detached_at, expires_at = excluded.expires_at, lossy = excluded.lossy,
         missed_count = excluded.missed_count, missed_bytes = excluded.missed_bytes`,
      session.pid,
      session.state.socketId,
      JSON.stringify(session.state),
      session.next,
      session.detachedAt,
      session.expiresAt,
      session.lossy ? 1 : 0,
      session.keptCount,
      session.keptBytes,
    );
  }

  /** Replaces the events kept for a session. */
  saveEvents(pid: string, events: readonly LoggedEvent[]): void {
    this.#create();
    this.sql.exec("DELETE FROM recovery_event WHERE pid = ?", pid);
    for (const event of events) this.addEvent(pid, event);
  }

  /** A connected session's log as it is now: the offset its next event gets, and the events it keeps. */
  saveLog(pid: string, next: number, events: readonly LoggedEvent[]): void {
    if (!this.#exists()) return;
    const updated = this.sql.exec("UPDATE recovery_session SET next = ? WHERE pid = ?", next, pid).rowsWritten;
    if (updated > 0) this.saveEvents(pid, events);
  }

  /** The dropped sessions kept here, and the bytes of their events: what the object's bounds count. */
  keptTotals(): { sessions: number; bytes: number } {
    const [row] = this.#rows(
      "SELECT COUNT(*) AS sessions, COALESCE(SUM(missed_bytes), 0) AS bytes FROM recovery_session WHERE expires_at IS NOT NULL",
    );
    return { sessions: (row?.sessions as number) ?? 0, bytes: (row?.bytes as number) ?? 0 };
  }

  /** Whether no session, kept or moved, is left. */
  isEmpty(): boolean {
    if (!this.#exists()) return true;
    const [row] = this.sql
      .exec("SELECT (SELECT COUNT(*) FROM recovery_session) + (SELECT COUNT(*) FROM recovery_moved) AS n")
      .toArray();
    return row?.n === 0;
  }

  deleteEvent(pid: string, offset: number): void {
    if (this.#exists()) this.sql.exec("DELETE FROM recovery_event WHERE pid = ? AND offset = ?", pid, offset);
  }

  /** The oldest dropped session that is in no room and asks to join none, if any. */
  oldestRoomless(): StoredSession | null {
    return (
      this.#sessions("WHERE expires_at IS NOT NULL ORDER BY detached_at").find(
        (session) => session.state.rooms.length === 0 && session.state.requested.length === 0,
      ) ?? null
    );
  }

  addEvent(pid: string, event: LoggedEvent): void {
    this.#create();
    this.sql.exec(
      "INSERT OR REPLACE INTO recovery_event (pid, offset, frame) VALUES (?, ?, ?)",
      pid,
      event.offset,
      event.frame,
    );
  }

  events(pid: string): LoggedEvent[] {
    return this.#rows("SELECT offset, frame FROM recovery_event WHERE pid = ? ORDER BY offset", pid).map((row) => ({
      offset: row.offset as number,
      frame: row.frame as string,
    }));
  }

  byPid(pid: string): StoredSession | null {
    return this.#sessions("WHERE pid = ?", pid)[0] ?? null;
  }

  bySocket(socketId: string): StoredSession | null {
    return this.#sessions("WHERE socket_id = ?", socketId)[0] ?? null;
  }

  all(): StoredSession[] {
    return this.#sessions("");
  }

  delete(pid: string): void {
    if (!this.#exists()) return;
    this.sql.exec("DELETE FROM recovery_session WHERE pid = ?", pid);
    this.sql.exec("DELETE FROM recovery_event WHERE pid = ?", pid);
  }

  moved(moved: MovedSession): void {
    this.#create();
    this.sql.exec(
      "INSERT OR REPLACE INTO recovery_moved (pid, socket_id, moved_to, expires_at) VALUES (?, ?, ?, ?)",
      moved.pid,
      moved.socketId,
      moved.movedTo,
      moved.expiresAt,
    );
  }

  movedByPid(pid: string): MovedSession | null {
    return this.#moves("WHERE pid = ?", pid)[0] ?? null;
  }

  movedBySocket(socketId: string): MovedSession | null {
    return this.#moves("WHERE socket_id = ?", socketId)[0] ?? null;
  }

  allMoved(): MovedSession[] {
    return this.#moves("");
  }

  forgetMoved(pid: string): void {
    if (this.#exists()) this.sql.exec("DELETE FROM recovery_moved WHERE pid = ?", pid);
  }

  /** The sessions that match `where` (a WHERE clause, or ""). */
  #sessions(where: string, ...bindings: SqlStorageValue[]): StoredSession[] {
    return this.#rows(`SELECT * FROM recovery_session ${where}`, ...bindings).map(toSession);
  }

  /** The moved sessions that match `where` (a WHERE clause, or ""). */
  #moves(where: string, ...bindings: SqlStorageValue[]): MovedSession[] {
    return this.#rows(`SELECT * FROM recovery_moved ${where}`, ...bindings).map(toMoved);
  }

  /** The rows `query` reads; none while the tables do not exist yet (no write has created them). */
  #rows(query: string, ...bindings: SqlStorageValue[]): Record<string, SqlStorageValue>[] {
    return this.#exists() ? this.sql.exec(query, ...bindings).toArray() : [];
  }

  #exists(): boolean {
    this.#tables ??=
      this.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'recovery_session'").toArray().length >
      0;
    return this.#tables;
  }

  #create(): void {
    if (this.#tables) return;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS recovery_session (
      pid TEXT PRIMARY KEY, socket_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, next INTEGER NOT NULL,
      detached_at INTEGER, expires_at INTEGER, lossy INTEGER NOT NULL,
      missed_count INTEGER NOT NULL, missed_bytes INTEGER NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS recovery_event (
      pid TEXT NOT NULL, offset INTEGER NOT NULL, frame TEXT NOT NULL, PRIMARY KEY (pid, offset)) WITHOUT ROWID`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS recovery_moved (
      pid TEXT PRIMARY KEY, socket_id TEXT NOT NULL, moved_to TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
    this.#tables = true;
  }
}

function toSession(row: Record<string, SqlStorageValue>): StoredSession {
  return {
    pid: row.pid as string,
    state: JSON.parse(row.state as string) as ConnectionState,
    next: row.next as number,
    detachedAt: (row.detached_at as number | null) ?? null,
    expiresAt: (row.expires_at as number | null) ?? null,
    lossy: row.lossy === 1,
    keptCount: row.missed_count as number,
    keptBytes: row.missed_bytes as number,
  };
}

function toMoved(row: Record<string, SqlStorageValue>): MovedSession {
  return {
    pid: row.pid as string,
    socketId: row.socket_id as string,
    movedTo: row.moved_to as string,
    expiresAt: row.expires_at as number,
  };
}
