import { TokenError, type TokenErrorCode } from "../auth/token-error";
import { decodeEngineFrame, encodeEngineMessage, encodeEnginePong } from "../protocol/engine-io";
import { failure, refusal, refusalBecause, SIGNALING_ERRORS } from "../protocol/errors";
import type { Refusal } from "../protocol/events";
import {
  type ClientPacket,
  decodeClientPacket,
  encodeAck,
  encodeConnectAccept,
  encodeConnectError,
  encodeEvent,
  MAIN_NAMESPACE,
} from "../protocol/socket-io";
import { utf8BytesExceed } from "../protocol/utf8-size";
import { isClientEvent, refusalEventOf } from "../signaling/client-events";
import type { ConnectionState } from "../signaling/connection-state";
import type { EventResult, IncomingEvent, MaybeLater, StateUpdate } from "../signaling/event-result";

/** WebSocket close codes this layer uses (RFC 6455, section 7.4.1). */
export const CLOSE_NORMAL = 1000;
/** A flood, or a missed auth deadline (src/socket/auth-deadline.ts). */
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
/** A bug or lost state on the server's side: only that socket is closed. */
export const CLOSE_INTERNAL_ERROR = 1011;
/**
 * A socket in no room whose slot a newcomer took, in a full object
 * (socket-upgrade.ts): it may come back. An application code: the runtime
 * refuses 1013 (Try Again Later) from a worker.
 */
export const CLOSE_SLOT_TAKEN = 4001;

/** What the connection layer needs from the outside world. */
export interface ConnectionContext {
  /** Largest frame accepted, in bytes (the open packet's `maxPayload`). */
  maxPayload: number;
  /** Checks an app token and returns its app; throws a {@link TokenError}. */
  verifyAppToken(token: unknown): Promise<{ app: string }>;
  /** Runs one client event. */
  handleEvent(state: ConnectionState, event: IncomingEvent): Promise<EventResult>;
  /** The client left the namespace (DISCONNECT packet): leave its rooms. */
  handleDisconnect(state: ConnectionState): Promise<void>;
  /**
   * Connection state recovery (only asked for connections that opted in):
   * the session `claim.pid` names, if it may be resumed by this connection
   * of `claim.app` from `claim.offset`: its state and the event frames it
   * missed, with their offsets. Null: start afresh.
   */
  resume?(claim: { pid: unknown; offset: unknown; app: string; session: unknown }): Promise<Resumed | null>;
  /** A new private session id, for a connection that opted into recovery. */
  newPid?(): string;
  now(): number;
}

/** A session taken back by a reconnecting client. */
export interface Resumed {
  state: ConnectionState;
  /** The events it missed, already framed with their offsets, oldest first. */
  missed: string[];
}

/** What to do after a frame: frames to send back, maybe a state change, maybe a close. */
export interface FrameResult extends MaybeLater<FrameResult> {
  send: string[];
  update?: StateUpdate;
  /** Set when the frame was refused, for the log: the request (if any) and the code. */
  refused?: { event?: string; code: string };
  close?: { code: number; reason: string };
  /** A CONNECT that resumed a recovered session: `send` holds its answer and the events it missed, framed already. */
  resumed?: boolean;
}

const NOTHING: FrameResult = { send: [] };

/**
 * Handles one WebSocket frame of a connection. Never throws on a peer's input:
 * bad frames get a `signaling-error` event, oversized ones a close (1009).
 *
 * @example
 * const result = await handleFrame(state, '42["auth-request","token"]', context);
 * for (const frame of result.send) ws.send(frame);
 */
export async function handleFrame(
  state: ConnectionState,
  frame: string | ArrayBuffer,
  context: ConnectionContext,
): Promise<FrameResult> {
  if (typeof frame === "string" ? utf8BytesExceed(frame, context.maxPayload) : frame.byteLength > context.maxPayload) {
    return { send: [], close: { code: CLOSE_MESSAGE_TOO_BIG, reason: `frame over ${context.maxPayload} bytes` } };
  }
  const decoded = decodeEngineFrame(frame);
  switch (decoded.kind) {
    case "ping":
      return { send: [encodeEnginePong(decoded.data)] };
    case "pong": {
      const lastPongAt = context.now();
      return { send: [], update: (current) => ({ ...current, lastPongAt }) };
    }
    case "ignored":
      return NOTHING;
    case "close":
      return { send: [], close: { code: CLOSE_NORMAL, reason: "client closed" } };
    case "binary":
      return errorFrame(refusal("ERR_BINARY_NOT_SUPPORTED"));
    case "invalid":
      return errorFrame(refusalBecause("ERR_INVALID_PACKET", decoded.reason));
    case "message": {
      const packet = decodeClientPacket(decoded.data);
      if (!packet.ok) {
        // A request nested too deeply is refused as the request, before anything routes it.
        return packet.event === undefined
          ? errorFrame(packet.error, undefined, packet.ackId)
          : refuseRequest(packet.event, packet.error, packet.ackId);
      }
      return handlePacket(state, packet.packet, context);
    }
  }
}

async function handlePacket(
  state: ConnectionState,
  packet: ClientPacket,
  context: ConnectionContext,
): Promise<FrameResult> {
  switch (packet.kind) {
    case "connect":
      return handleConnect(state, packet, context);
    case "disconnect":
      if (packet.nsp !== MAIN_NAMESPACE || !state.connected) return NOTHING;
      await context.handleDisconnect(state);
      return { send: [], update: (current) => ({ ...current, connected: false, rooms: [], requested: [] }) };
    case "ack":
      return NOTHING;
    case "event": {
      if (packet.nsp !== MAIN_NAMESPACE || !state.connected) {
        return errorFrame(refusal("ERR_NOT_CONNECTED"), packet.name, packet.ackId);
      }
      const result = await runEvent(state, packet, context);
      if (result.later) {
        const name = packet.name;
        const ackId = packet.ackId;
        const later = result.later.then(
          (final) => eventFrames(name, ackId, final),
          (error: unknown) => {
            console.error(`[socket ${state.socketId}] event ${name} failed:`, error);
            const error_ = { ...refusal("ERR_INTERNAL"), event: name };
            return eventFrames(name, ackId, { emit: [["signaling-error", error_]], outcome: failure(error_) });
          },
        );
        return { send: [], later };
      }
      const frameResult = eventFrames(packet.name, packet.ackId, result);
      if (result.update) frameResult.update = result.update;
      return frameResult;
    }
  }
}

/** The frames that answer an event: the events it caused for this connection, then its ack if it asked for one. */
function eventFrames(name: string, ackId: number | undefined, result: EventResult): FrameResult {
  const send = result.emit.map(([event, data]) => message(encodeEvent(event, data)));
  if (ackId !== undefined) send.push(message(encodeAck(ackId, result.outcome)));
  const frames: FrameResult = { send };
  if (!result.outcome.ok) frames.refused = { event: name, code: result.outcome.error.code };
  return frames;
}

async function runEvent(
  state: ConnectionState,
  packet: Extract<ClientPacket, { kind: "event" }>,
  context: ConnectionContext,
): Promise<EventResult> {
  try {
    return await context.handleEvent(state, {
      name: packet.name,
      args: packet.args,
      awaited: packet.ackId !== undefined,
    });
  } catch (error) {
    // A bug, not the peer's fault: keep the connection, say so, log the cause.
    // The name is the client's: only a known one goes into the log.
    const name = isClientEvent(packet.name) ? packet.name : "unknown";
    console.error(`[socket ${state.socketId}] event ${name} failed:`, error);
    const error_ = { ...refusal("ERR_INTERNAL"), event: packet.name };
    return { emit: [["signaling-error", error_]], outcome: failure(error_) };
  }
}

async function handleConnect(
  state: ConnectionState,
  packet: Extract<ClientPacket, { kind: "connect" }>,
  context: ConnectionContext,
): Promise<FrameResult> {
  if (packet.nsp !== MAIN_NAMESPACE) {
    return { send: [message(encodeConnectError(packet.nsp, "Invalid namespace"))] };
  }
  // Connected already: the same answer again, and nothing changes (a second session on one socket
  // would give one socket id two pids).
  if (state.connected) return { send: [message(encodeConnectAccept(state.socketId, state.pid))] };
  const token = packet.auth.token;
  if (token === undefined) return accept(state, state.app, packet.auth, context);
  let app: string;
  try {
    app = (await context.verifyAppToken(token)).app;
  } catch (error) {
    if (!(error instanceof TokenError)) throw error;
    return connectRefused(error.code);
  }
  if (state.app !== null && state.app !== app) return connectRefused("ERR_TOKEN_WRONG_APP");
  return accept(state, app, packet.auth, context);
}

/** A CONNECT refused for its token: the client's `connect_error` gets the message and `data.code`. */
function connectRefused(code: TokenErrorCode): FrameResult {
  return { send: [message(encodeConnectError(MAIN_NAMESPACE, SIGNALING_ERRORS[code], { code }))] };
}

/**
 * Accepts a CONNECT. A connection that opted into recovery gets a pid, or,
 * presenting the pid of a session it may resume, that session back: the
 * same socket id and pid, and the events it missed right after the answer.
 * Recovery needs the app proven at connect (a room placement, or an app
 * token in `auth`), since a pid is bound to its app.
 */
async function accept(
  state: ConnectionState,
  app: string | null,
  auth: Record<string, unknown> = {},
  context?: ConnectionContext,
): Promise<FrameResult> {
  if (!state.recovery || !context?.newPid) {
    return {
      send: [message(encodeConnectAccept(state.socketId))],
      update: (current) => ({ ...current, connected: true, app }),
    };
  }
  if (auth.pid !== undefined && app !== null && context.resume) {
    const resumed = await context.resume({ pid: auth.pid, offset: auth.offset, app, session: auth.session });
    if (resumed?.state.pid) {
      const session = resumed.state;
      return {
        send: [message(encodeConnectAccept(session.socketId, session.pid)), ...resumed.missed],
        update: (current) => ({
          ...session,
          engineId: current.engineId,
          openedAt: current.openedAt,
          connected: true,
          recovery: true,
        }),
        resumed: true,
      };
    }
  }
  const pid = context.newPid();
  return {
    send: [message(encodeConnectAccept(state.socketId, pid))],
    update: (current) => ({ ...current, connected: true, app, pid }),
  };
}

function errorFrame(error: Refusal, event?: string, ackId?: number): FrameResult {
  const data = event === undefined ? error : { ...error, event };
  const send = [message(encodeEvent("signaling-error", data))];
  if (ackId !== undefined) send.push(message(encodeAck(ackId, failure(error))));
  return { send, refused: event === undefined ? { code: error.code } : { event, code: error.code } };
}

/** A refusal sent as the request's own refusal event (`room-create-reject`, `auth-reject`, ...). */
function refuseRequest(event: string, error: Refusal, ackId?: number): FrameResult {
  const name = refusalEventOf(event);
  const send = [message(encodeEvent(name, name === "signaling-error" ? { ...error, event } : error))];
  if (ackId !== undefined) send.push(message(encodeAck(ackId, failure(error))));
  return { send, refused: { event, code: error.code } };
}

function message(socketPacket: string): string {
  return encodeEngineMessage(socketPacket);
}
