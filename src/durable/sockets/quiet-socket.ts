/**
 * Sends and closes that never throw: a socket may have closed meanwhile,
 * and its close event handles the rest. Entry points of the object must not
 * throw because a peer went away.
 */

/** Sends `frame`; false if the socket is closed. */
export function sendQuietly(ws: WebSocket, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false; // closed meanwhile: its close event handles the rest
  }
}

/** Closes with `code` and `reason`; nothing if already closed. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    // A close reason is at most 123 bytes of UTF-8; ours are short ASCII, so characters are bytes.
    ws.close(code, reason.slice(0, 123));
  } catch {
    // already closed
  }
}
