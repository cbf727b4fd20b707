import { mintTurnCredential } from "./turn-credentials";

/** One entry of `RTCConfiguration.iceServers`. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceSettings {
  stunUrls: string[];
  turnUrls: string[];
  turnSecret: string | null;
  turnTtlSeconds: number;
}

/**
 * The ICE servers for a client of `app`: the configured STUN servers, and the
 * TURN servers with fresh credentials when TURN is configured. Nothing
 * configured gives an empty list: peers on one network connect without.
 *
 * @example
 * await iceServersFor({ stunUrls: ["stun:stun.example.org:3478"], turnUrls: [], turnSecret: null, turnTtlSeconds: 3600 }, "demo");
 * // [{ urls: ["stun:stun.example.org:3478"] }]
 */
export async function iceServersFor(settings: IceSettings, app: string, now = new Date()): Promise<IceServer[]> {
  const servers: IceServer[] = [];
  if (settings.stunUrls.length > 0) servers.push({ urls: settings.stunUrls });
  if (settings.turnUrls.length > 0 && settings.turnSecret) {
    const { username, credential } = await mintTurnCredential(settings.turnSecret, app, settings.turnTtlSeconds, now);
    servers.push({ urls: settings.turnUrls, username, credential });
  }
  return servers;
}

/** Splits a configured list of URLs on commas and whitespace. */
export function parseUrlList(raw: string | undefined): string[] {
  return (raw ?? "").split(/[\s,]+/).filter((url) => url !== "");
}
