// Where the demo page is: the room in its address (the share link), the name
// it remembers (localStorage, for every visit) and the call this tab is in
// (sessionStorage, so a reload comes back to it).

const NAME_KEY = "edge-signaling-demo:name";
const CALL_KEY = "edge-signaling-demo:call";
const ROLES = ["owner", "member", "asking"];

/** The room named by the page's address, `/demo?room=...`, or "". */
export function roomInAddress() {
  return (new URL(location.href).searchParams.get("room") ?? "").trim();
}

/**
 * @example
 * shareLink("test room") // "http://127.0.0.1:8787/demo?room=test+room"
 */
export function shareLink(room) {
  const url = new URL("/demo", location.origin);
  url.searchParams.set("room", room);
  return url.href;
}

/** Puts the room into the address bar (or takes it out), so that the address is the room's link. */
export function showRoomInAddress(room) {
  history.replaceState(null, "", room ? shareLink(room) : "/demo");
}

export function rememberedName() {
  return read(localStorage, NAME_KEY) ?? "";
}

export function rememberName(name) {
  write(localStorage, NAME_KEY, name);
}

/** The call this tab was in before a reload: `{ room, role }`, role one of owner, member, asking. */
export function savedCall() {
  try {
    const call = JSON.parse(read(sessionStorage, CALL_KEY) ?? "null");
    if (call && typeof call.room === "string" && call.room && ROLES.includes(call.role)) return call;
  } catch {
    // not ours, or damaged: start afresh
  }
  return null;
}

export function saveCall(call) {
  write(sessionStorage, CALL_KEY, call ? JSON.stringify({ room: call.room, role: call.role }) : null);
}

// Storage can be switched off (private modes, policies): the page then works without memory.
function read(storage, key) {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

function write(storage, key, value) {
  try {
    if (value === null) storage.removeItem(key);
    else storage.setItem(key, value);
  } catch {
    // see read()
  }
}
