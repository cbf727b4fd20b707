// The demo page: a mesh video call through the edge signaling server.
// Plain browser JavaScript on purpose: it shows what a client of the
// protocol (docs/PROTOCOL.md) needs, with nothing else in the way.
//
//   demo.js           this file: the lobby, the socket, rooms and join requests
//   demo-links.js     the media: one RTCPeerConnection per peer, kept across signaling drops
//   demo-place.js     the share link, the remembered name, the call a reload comes back to
//   demo-messages.js  notices with their time, expiring into "Earlier messages"
import { createLinks, nameOf, showBadges } from "./demo-links.js";
import { createMessages } from "./demo-messages.js";
import * as place from "./demo-place.js";

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"),
  lobby: $("lobby"),
  lobbyButtons: $("lobby-buttons"),
  invite: $("invite"),
  inviteRoom: $("invite-room"),
  name: $("name"),
  room: $("room"),
  create: $("create"),
  join: $("join"),
  call: $("call"),
  roomName: $("room-name"),
  role: $("role"),
  copyLink: $("copy-link"),
  shareLink: $("share-link"),
  requests: $("requests"),
  videos: $("videos"),
  localVideo: $("local-video"),
  localBadges: $("local-badges"),
  mute: $("mute"),
  camera: $("camera"),
  leave: $("leave"),
};

const say = createMessages({ list: $("messages"), history: $("history"), log: $("log") });

/** Outcomes of a join request that come later, as events only; every other refusal answers our ack. */
const LATER_REFUSALS = ["ERR_JOIN_REJECTED", "ERR_ROOM_CLOSED", "ERR_JOIN_TIMEOUT"];
/** How long a request may wait for its answer. */
const ANSWER_TIMEOUT_MS = 15_000;
/** How long a connection attempt may take before socket.io tries again. */
const CONNECT_TIMEOUT_MS = 8_000;
/** Relays held while the socket is down (ICE candidates, mostly); more than this are dropped. */
const MAX_HELD_RELAYS = 200;

const state = {
  socket: null,
  appToken: null,
  session: null,
  iceServers: [],
  localStream: null,
  mediaTried: false,
  name: "",
  /** Tells our links apart from those of this person's earlier page loads; rides in peerinfo. */
  client: randomId(),
  room: null, // the room we are in, or asking to join, or coming back to
  role: null, // null | "asking" | "member" | "owner": what the server last said we are
  was: null, // null | "member" | "owner": what we were before a drop or a reload
  online: false, // connected and authenticated
  rejoining: false, // asking the server for our room again
  comebacks: 0, // attempts in a row, so a room that keeps vanishing cannot loop us
  epoch: 0, // counts calls ended, so that an answer for a call the user left is recognised
  /** Socket id -> client id, announced over a data channel by a peer who is coming back. */
  returning: new Map(),
  /** Relays our links asked for while the socket was down: sent if the server recovers our session. */
  held: [],
};

const links = createLinks({
  videos: ui.videos,
  say,
  iceServers: () => state.iceServers,
  localStream: () => state.localStream,
  relay: (event, fields, wanted) => (state.online ? roomRequest(event, fields) : hold(event, fields, wanted)),
  onBack: (link, peerId) => {
    state.returning.set(peerId, link.client);
    const card = requestCard(peerId);
    if (card && state.role === "owner") card.accept.click();
  },
});

// ---- what the page shows ---------------------------------------------------

function setStatus(text, stateName) {
  ui.status.textContent = text;
  ui.status.dataset.state = stateName;
}

function roleText() {
  if (!state.online) return "(reconnecting…)";
  if (state.rejoining) return "(rejoining…)";
  if (state.role === "owner") return "(you own it)";
  if (state.role === "asking") return "(waiting for the owner)";
  return "";
}

function render() {
  const inRoom = Boolean(state.room);
  ui.call.hidden = !inRoom;
  ui.lobby.hidden = inRoom;
  ui.roomName.textContent = state.room ?? "";
  ui.role.textContent = inRoom ? roleText() : "";
  if (!inRoom) ui.shareLink.hidden = true;
  for (const button of ui.requests.querySelectorAll("button")) button.disabled = !state.online;
}

/** A shared link opens the lobby with its room filled in and "Ask to join" as the button Enter presses. */
function renderLobby() {
  const invited = place.roomInAddress();
  ui.invite.hidden = !invited;
  ui.inviteRoom.textContent = invited;
  ui.lobby.classList.toggle("invited", Boolean(invited));
  ui.lobbyButtons.prepend(invited ? ui.join : ui.create);
  if (invited) ui.room.value = invited;
}

/** Remembers the room and what we are in it, for a reload; the address becomes the room's link. */
function setRole(role) {
  state.role = role;
  if (role === "owner" || role === "member") state.was = role;
  place.saveCall(state.room ? { room: state.room, role: state.was ?? role ?? "asking" } : null);
  if (state.room) place.showRoomInAddress(state.room);
  render();
}

function showFailure(outcome, prefix) {
  // A lost connection is said once, by the disconnect handler; leaving needs no error.
  if (["ERR_DISCONNECTED", "ERR_LEFT"].includes(outcome.error.code)) return;
  say(prefix ? `${prefix}: ${outcome.error.message}` : outcome.error.message, "error");
}

// ---- setup -----------------------------------------------------------------

async function fetchJson(url, options) {
  const res = await fetch(url, options);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ? body.error.message : `${url} answered ${res.status}`);
  return body.response;
}

async function prepare() {
  const { token } = await fetchJson("/demo/token");
  state.appToken = token;
  const local = window.DEMO_CONFIG?.iceServers ?? [];
  const fromServer = await fetchJson("/ice-servers", { headers: { Authorization: `Bearer ${token}` } })
    .then((r) => r.iceServers)
    .catch((error) => {
      say(`No ICE servers from the server (${error.message}); using local ones only`, "error");
      return [];
    });
  state.iceServers = [...local, ...fromServer];
}

/** Camera and microphone, or whichever of them there is; Mute and Camera off only for what we have. */
async function startMedia() {
  if (state.mediaTried) return;
  state.mediaTried = true;
  let failure = null;
  for (const constraints of [{ audio: true, video: true }, { audio: true }, { video: true }]) {
    try {
      state.localStream = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (error) {
      failure = error;
      if (error.name === "NotAllowedError") break; // refused: asking again will not help
    }
  }
  ui.localVideo.srcObject = state.localStream;
  const has = (kind) => Boolean(state.localStream?.getTracks().some((track) => track.kind === kind));
  ui.mute.disabled = !has("audio");
  ui.mute.title = has("audio") ? "" : "No microphone";
  ui.camera.disabled = !has("video");
  ui.camera.title = has("video") ? "" : "No camera";
  const why = failure ? ` (${failure.name})` : "";
  if (!state.localStream) say(`No camera or microphone${why}: you will see and hear the others, not they you`, "error");
  else if (!has("video")) say(`No camera${why}: the others will hear you, not see you`, "error");
  else if (!has("audio")) say(`No microphone${why}: the others will see you, not hear you`, "error");
  renderLocalBadges();
}

// ---- the socket ------------------------------------------------------------

/** Connects and authenticates; resolves once the first session token is in. */
function connect() {
  const socket = io({
    transports: ["websocket"],
    auth: { token: state.appToken },
    // Connection state recovery (docs/PROTOCOL.md, "Reconnecting"), where the server offers it:
    // after a short outage the same socket id, session and rooms; see onConnect.
    query: { recovery: "1" },
    // A connection attempt that opens and then closes without an error (a proxy dropping the
    // upgrade) counts as failed only after this; socket.io's default is 20 s.
    timeout: CONNECT_TIMEOUT_MS,
  });
  state.socket = socket;
  setStatus("Connecting…", "idle");
  let ready;
  const authenticated = new Promise((resolve) => {
    ready = resolve;
  });

  socket.on("connect", () => onConnect().then(ready));
  socket.on("disconnect", onDisconnect);
  socket.on("connect_error", (error) => {
    setStatus("Cannot reach the server; retrying…", "lost");
    // Network failures are retried by socket.io and shown in the status only; a refusal is worth saying.
    if (error.data?.code) say(`The server refused the connection: ${error.message}`, "error");
  });

  // Every request below carries an acknowledgement, and a refused one is answered twice: by its
  // refusal event and by its ack. The page acts on the ack; of the refusal events it hears only
  // those that answer no request of ours.
  socket.on("signaling-error", ({ message, event }) => {
    if (!event) say(`The server: ${message}`, "error");
  });
  socket.on("room-join-reject", onLaterRefusal);

  socket.on("room-join-request", ({ room, peer_id, peerinfo }) => {
    if (room !== state.room) return;
    if (isReturning(peer_id, peerinfo)) admit(peer_id, nameOf(peerinfo));
    else addRequest(peer_id, nameOf(peerinfo));
  });
  socket.on("room-join-accept", ({ room, peers, peersinfo }) => {
    if (room !== state.room) return;
    const back = Boolean(state.was);
    state.comebacks = 0;
    setRole("member");
    say(back ? `You are back in "${room}"` : `You joined "${room}"`);
    // The newcomer calls everyone already there.
    for (const id of peers) void links.call(id, peersinfo[id]);
  });
  socket.on("room-user-join", ({ room, peer_id, peerinfo }) => {
    if (room !== state.room) return;
    const back = links.knows(peerinfo);
    links.open(peer_id, peerinfo);
    removeRequest(peer_id);
    say(back ? `${nameOf(peerinfo)} is back` : `${nameOf(peerinfo)} joined`);
  });
  socket.on("room-user-leave", ({ room, peer_id, peerinfo }) => {
    if (room !== state.room) return;
    if (links.left(peer_id) === "gone") say(`${nameOf(peerinfo)} left`);
  });
  socket.on("room-owner-change", ({ room, peer_id, peerinfo }) => {
    if (room !== state.room) return;
    const mine = peer_id === socket.id;
    setRole(mine ? "owner" : "member");
    say(mine ? "You now own the room" : `${nameOf(peerinfo)} now owns the room`);
  });
  socket.on("session-description", (data) => void links.description(data));
  socket.on("ice-candidate", (data) => void links.candidate(data));

  return authenticated;
}

async function onConnect() {
  const socket = state.socket;
  if (socket.recovered) {
    // Connection state recovery: the server kept our id, session token, rooms and join requests,
    // and has just sent the events we missed. No auth-request, no asking again: send what our
    // links wanted to send meanwhile, and carry on.
    state.online = true;
    setStatus("Connected", "connected");
    render();
    if (state.room) say("Reconnected to the server; the call goes on as it was");
    flushHeld();
    return;
  }
  setStatus("Connected", "connected");
  // What our links held for the old socket id is of no use under a new one.
  dropHeld();
  const back = Boolean(state.room);
  if (back) {
    // A new socket id: the server let our old one go, with its rooms and join requests.
    links.detachAll();
    for (const item of [...ui.requests.children]) item.remove();
    state.rejoining = true;
  }
  if (!(await authenticate())) return;
  state.online = true;
  render();
  if (back) {
    // Tell the peers we still have media with who we are now, so that the owner lets us straight back in.
    links.broadcast({ type: "back", peer_id: socket.id });
    await comeBack();
  }
}

function onDisconnect(reason) {
  state.online = false;
  render();
  if (reason === "io client disconnect") return;
  if (reason === "io server disconnect") {
    // socket.io does not come back by itself from this one: the server meant it.
    setStatus("Disconnected by the server", "lost");
    return say("The server closed the connection; reload the page to connect again", "error");
  }
  setStatus("Connection lost, reconnecting…", "lost");
  const inCall = state.room && links.all().length > 0;
  say(
    inCall ? "Lost the server; your call goes on while the page reconnects" : "Lost the server; reconnecting…",
    "error",
  );
}

async function authenticate() {
  const outcome = await request("auth-request", {
    token: state.appToken,
    peerinfo: { name: state.name, client: state.client },
  });
  if (outcome.ok) state.session = outcome.data.token;
  else showFailure(outcome, "The server did not let us in");
  return outcome.ok;
}

/** Emits a request and waits for its ack: `{ ok: true, data }` or `{ ok: false, error: { code, message } }`. */
async function request(event, data) {
  const socket = state.socket;
  try {
    return await socket.timeout(ANSWER_TIMEOUT_MS).emitWithAck(event, data);
  } catch {
    if (!socket.connected) return offline();
    return { ok: false, error: { code: "ERR_NO_ANSWER", message: "The server did not answer in time" } };
  }
}

/** A request with our session token; a token past its day is renewed and the request sent again. */
async function roomRequest(event, fields) {
  const outcome = await request(event, { auth: state.session, room: state.room, ...fields });
  if (outcome.ok || outcome.error.code !== "ERR_TOKEN_EXPIRED" || !(await authenticate())) return outcome;
  return request(event, { auth: state.session, room: state.room, ...fields });
}

function offline() {
  return { ok: false, error: { code: "ERR_DISCONNECTED", message: "Not connected to the server" } };
}

/**
 * A relay asked for while the socket is down: held until the next connect, which sends it if the
 * server recovered our session (same id, same room; `wanted()` says whether the link still wants
 * it), or drops it if not (the links are set up again under the new id).
 */
function hold(event, fields, wanted = () => true) {
  if (state.held.length >= MAX_HELD_RELAYS) return Promise.resolve(offline());
  return new Promise((resolve) => state.held.push({ event, fields, wanted, resolve }));
}

function flushHeld() {
  for (const { event, fields, wanted, resolve } of state.held.splice(0)) {
    resolve(wanted() ? roomRequest(event, fields) : offline());
  }
}

function dropHeld() {
  for (const { resolve } of state.held.splice(0)) resolve(offline());
}

// ---- rooms -----------------------------------------------------------------

async function createRoom(room) {
  const epoch = state.epoch;
  const outcome = await roomRequest("room-create-request", { room: room || undefined });
  if (!outcome.ok) return outcome;
  if (state.epoch !== epoch) return leftMeanwhile(outcome.data.room);
  const back = Boolean(state.was);
  state.room = outcome.data.room;
  state.comebacks = 0;
  setRole("owner");
  say(back ? `You are back in "${state.room}", and own it` : `Room "${state.room}" is yours: Copy link to invite`);
  return outcome;
}

async function askToJoin(room) {
  const epoch = state.epoch;
  state.room = room;
  setRole("asking");
  const outcome = await roomRequest("room-join-request", { room });
  if (state.epoch !== epoch) return outcome.ok ? leftMeanwhile(room) : outcome;
  if (outcome.ok && state.role === "asking") say(`Asked to join "${room}"; waiting for its owner`);
  return outcome;
}

/** The call ended while the server was answering (the user pressed Leave): leave what it just gave us. */
function leftMeanwhile(room) {
  state.socket.emit("room-leave-request", { auth: state.session, room });
  return { ok: false, error: { code: "ERR_LEFT", message: "You left" } };
}

/**
 * Back after a drop or a reload, with a new socket id: the owner takes the room again if it is
 * free, a member asks to come back (or takes the room if it is gone), a candidate asks again.
 * The third try covers a room that empties in between (our old socket may still be leaving it).
 */
async function comeBack() {
  const room = state.room;
  const epoch = state.epoch;
  state.rejoining = true;
  state.comebacks += 1;
  render();
  const order = {
    owner: ["create", "ask", "create"],
    member: ["ask", "create", "ask"],
  }[state.was] ?? ["ask"];
  let outcome;
  for (const how of order) {
    outcome = how === "create" ? await createRoom(room) : await askToJoin(room);
    const tryNext = how === "create" ? "ERR_ROOM_TAKEN" : "ERR_ROOM_NOT_FOUND";
    if (outcome.ok || outcome.error.code !== tryNext) break;
  }
  if (state.epoch !== epoch) return; // the call ended meanwhile
  state.rejoining = false;
  render();
  if (outcome.ok || outcome.error.code === "ERR_DISCONNECTED") return; // the next connect tries again
  showFailure(outcome, `Could not get back into "${room}"`);
  endCall();
}

/** A waiting join request's answer, when it is no: the owner said so, everyone left, or no answer came. */
function onLaterRefusal({ code, message, room }) {
  if (!LATER_REFUSALS.includes(code) || room !== state.room || state.role !== "asking") return;
  // We were in this room a moment ago, and everyone left while we asked to come back: take it.
  if (code === "ERR_ROOM_CLOSED" && state.was && state.comebacks < 3) return void comeBack();
  say(`Could not join "${room}": ${message}`, "error");
  endCall();
}

/** A peer coming back after a drop, as its page told us over our media link with it. */
function isReturning(peerId, peerinfo) {
  const client = state.returning.get(peerId);
  return Boolean(client) && client === peerinfo?.client;
}

async function admit(peerId, name) {
  const outcome = await roomRequest("room-join-accept", { peer_id: peerId, to: peerId });
  if (!outcome.ok) showFailure(outcome, `Could not let ${name} back in`);
}

/** Out of the room, here: media, requests, and what a reload would come back to. */
function endCall() {
  links.closeAll();
  dropHeld();
  for (const item of [...ui.requests.children]) item.remove();
  state.returning.clear();
  Object.assign(state, { room: null, was: null, rejoining: false, comebacks: 0, epoch: state.epoch + 1 });
  setRole(null);
}

function leave() {
  const room = state.room;
  links.broadcast({ type: "bye" });
  // No ack: while offline socket.io keeps it for the next connection, where it is stale and
  // refused, unless the server recovered our session and still counts us in.
  if (room) state.socket?.emit("room-leave-request", { auth: state.session, room });
  endCall();
  place.showRoomInAddress(null);
  renderLobby();
  if (room) say(`You left "${room}"`);
}

function addRequest(peerId, name) {
  removeRequest(peerId);
  const item = document.createElement("li");
  item.dataset.peer = peerId;
  const label = document.createElement("span");
  label.textContent = `${name} asks to join`;
  const accept = document.createElement("button");
  accept.className = "accept";
  accept.textContent = "Accept";
  const reject = document.createElement("button");
  reject.className = "reject";
  reject.textContent = "Reject";
  const answer = async (event) => {
    accept.disabled = reject.disabled = true;
    const outcome = await roomRequest(event, { peer_id: peerId, to: peerId });
    item.remove();
    if (!outcome.ok) showFailure(outcome);
    else if (event === "room-join-reject") say(`You turned ${name} away`);
  };
  accept.onclick = () => answer("room-join-accept");
  reject.onclick = () => answer("room-join-reject");
  const buttons = document.createElement("span");
  buttons.className = "buttons";
  buttons.append(accept, reject);
  item.append(label, buttons);
  ui.requests.append(item);
  render();
}

function requestCard(peerId) {
  const item = [...ui.requests.children].find((li) => li.dataset.peer === peerId);
  return item ? { item, accept: item.querySelector("button.accept") } : null;
}

function removeRequest(peerId) {
  requestCard(peerId)?.item.remove();
}

// ---- controls --------------------------------------------------------------

ui.lobby.addEventListener("submit", async (event) => {
  event.preventDefault();
  const action = event.submitter?.value ?? (place.roomInAddress() ? "join" : "create");
  const room = ui.room.value.trim();
  if (action === "join" && !room) return say("Type the name of the room to join", "error");
  state.name = ui.name.value.trim();
  place.rememberName(state.name);
  for (const button of ui.lobby.querySelectorAll("button")) button.disabled = true;
  try {
    await startMedia();
    if (!state.socket) await connect();
    else if (state.online)
      await authenticate(); // the name may have changed
    else return say("Not connected to the server yet; try again in a moment", "error");
    const outcome = action === "create" ? await createRoom(room) : await askToJoin(room);
    if (!outcome.ok) {
      showFailure(outcome);
      // Asked, and the connection dropped before the answer: the reconnect asks again.
      if (action === "join" && outcome.error.code !== "ERR_DISCONNECTED") endCall();
    }
  } catch (error) {
    say(error.message, "error");
  } finally {
    for (const button of ui.lobby.querySelectorAll("button")) button.disabled = false;
  }
});

/** Back where this tab was before a reload, as if the socket had dropped. */
async function resume(call) {
  state.name = ui.name.value.trim();
  state.room = call.room;
  state.was = call.role === "asking" ? null : call.role;
  state.role = call.role;
  state.rejoining = true;
  render();
  await startMedia();
  say(`Back to "${call.room}"`);
  await connect();
}

ui.copyLink.onclick = async () => {
  const link = place.shareLink(state.room);
  try {
    await navigator.clipboard.writeText(link);
    ui.shareLink.hidden = true;
    say("Link copied: send it to whoever you want to call");
  } catch {
    // No clipboard (an insecure origin, a refused permission): show the link, selected, to copy by hand.
    ui.shareLink.value = link;
    ui.shareLink.hidden = false;
    ui.shareLink.focus();
    ui.shareLink.select();
  }
};

ui.leave.onclick = leave;
ui.mute.onclick = () => toggle(ui.mute, "audio", "Mute", "Unmute");
ui.camera.onclick = () => toggle(ui.camera, "video", "Camera off", "Camera on");
// A reload or a closed tab: tell the peers now, rather than leave them with a frozen picture, and
// say goodbye to the server (a DISCONNECT), which then lets our session go at once: a socket that
// merely closed would be kept for the recovery window, and the room would still count us in.
addEventListener("pagehide", () => {
  links.broadcast({ type: "bye" });
  state.socket?.disconnect();
});
// Back from the back-forward cache with that socket closed: start again, as a reload does.
addEventListener("pageshow", (event) => {
  if (event.persisted && state.socket) location.reload();
});

function toggle(button, kind, offLabel, onLabel) {
  const pressed = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(pressed));
  button.textContent = pressed ? onLabel : offLabel;
  for (const track of state.localStream ? state.localStream.getTracks() : []) {
    if (track.kind === kind) track.enabled = !pressed;
  }
  renderLocalBadges();
  links.sendState();
}

function renderLocalBadges() {
  const tracks = state.localStream?.getTracks() ?? [];
  const badge = (kind, off, none) => {
    const track = tracks.find((t) => t.kind === kind);
    if (!track) return [[`no-${kind}`, none]];
    return track.enabled ? [] : [[off[0], off[1]]];
  };
  showBadges(ui.localBadges, [
    ...badge("audio", ["muted", "muted"], "no microphone"),
    ...badge("video", ["camera-off", "camera off"], "no camera"),
  ]);
}

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

// For tests and the curious: what the call looks like from here.
window.demo = {
  socketId: () => state.socket?.id,
  /** Whether the last connect resumed our session (connection state recovery): same id, same rooms. */
  recovered: () => Boolean(state.socket?.recovered),
  room: () => state.room,
  /** Every media link, those kept from before a drop included. */
  links: () =>
    links.all().map((link) => ({
      id: link.id,
      name: link.name,
      state: link.pc.connectionState,
      current: links.isCurrent(link),
      away: link.away,
    })),
  /** Decoded video frames per remote peer id, from getStats(); a current link wins over a kept one. */
  async framesDecoded() {
    const result = {};
    for (const link of links.all()) {
      let frames = 0;
      (await link.pc.getStats()).forEach((report) => {
        if (report.type === "inbound-rtp" && report.kind === "video") frames += report.framesDecoded || 0;
      });
      result[link.id] = frames;
    }
    return result;
  },
};

// The lobby's buttons start disabled (demo.html) and wake up once the page holds a token.
ui.name.value = place.rememberedName();
renderLobby();
prepare().then(
  () => {
    for (const button of ui.lobby.querySelectorAll("button")) button.disabled = false;
    const call = place.savedCall();
    if (call && call.room === place.roomInAddress() && ui.name.value.trim()) return resume(call);
    (ui.name.value && place.roomInAddress() ? ui.join : ui.name).focus();
  },
  (error) => say(`The demo cannot start: ${error.message}`, "error"),
);
