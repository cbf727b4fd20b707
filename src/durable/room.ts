import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/**
 * One room of one app. Its SQLite storage is authoritative for the room's
 * members; WebSocket connections terminate here (see docs/PROTOCOL.md).
 */
export class Room extends DurableObject<Env> {
  override async fetch(_request: Request): Promise<Response> {
    return Response.json(
      { code: "ERR_NOT_IMPLEMENTED", message: "Socket.IO connections are not served yet" },
      { status: 501 },
    );
  }
}
