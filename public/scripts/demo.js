// The demo page: a mesh video call through the edge signaling server, made with the client
// library (/client.js). This file is only the user interface: the library owns the socket,
// rooms, join requests, peer connections, renegotiation, reconnection and ICE restarts.
//
//   demo.js           this file: the lobby, the call view, join requests, the controls
//   demo-tiles.js     a video tile per remote peer, with its badges
//   demo-place.js     the share link, the remembered name, the call a reload comes back to
//   demo-messages.js  notices with their time, expiring into "Earlier messages"
import { connect } from "/client.js";
import { createMessages } from "./demo-messages.js";
import * as place from "./demo-place.js";
import { createTiles, nameOf, showBadges } from "./demo-tiles.js";

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
const tiles = createTiles({ videos: ui.videos, say });

const state = {
  appToken: null,
  /** The library's client, once connected (made again if the name changes). */
  client: null,
  name: "",
  /** The room we are in (the library's Room), or null. */
  room: null,
  /** The name of the room we are in or asking for. */
  roomName: null,
  /** null | "asking" | "member" | "owner" | "left" */
  role: null,
  online: false,
  /** The page is going away (a reload, say): what it remembers for the reload stays. */
  unloading: false,
  /** The camera and microphone of this call; the library stops them when the call ends. */
  media: null,
};

// ---- what the page shows ---------------------------------------------------

function setStatus(text, stateName) {
  ui.status.textContent = text;
  ui.status.dataset.state = stateName;
}

function roleText() {
  if (state.client && !state.online) return "(reconnecting…)";
  if (state.role === "owner") return "(you own it)";
  if (state.role === "asking") return "(waiting for the owner)";
  return "";
}

function render() {
  const inRoom = Boolean(state.roomName);
  ui.call.hidden = !inRoom;
  ui.lobby.hidden = inRoom;
  ui.roomName.textContent = state.roomName ?? "";
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

/** Our part in the room; remembered for a reload, and the address becomes the room's link. */
function setRole(role) {
  state.role = role;
  const remembered = role === "owner" || role === "member" || role === "asking";
  // A page going away ends its call, but the reload it may be must still find it.
  if (!state.unloading) place.saveCall(state.roomName && remembered ? { room: state.roomName, role } : null);
  if (state.roomName) place.showRoomInAddress(state.roomName);
  render();
}

// ---- setup -----------------------------------------------------------------

async function fetchJson(url) {
  const res = await fetch(url);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ? body.error.message : `${url} answered ${res.status}`);
  return body.response;
}

/** Camera and microphone, or whichever of them there is; Mute and Camera off only for what we have. */
async function startMedia() {
  if (state.media) return;
  let failure = null;
  for (const constraints of [{ audio: true, video: true }, { audio: true }, { video: true }]) {
    try {
      state.media = await navigator.mediaDevices.getUserMedia(constraints);
      break;
    } catch (error) {
      failure = error;
      if (error.name === "NotAllowedError") break; // refused: asking again will not help
    }
  }
  ui.localVideo.srcObject = state.media;
  const has = (kind) => Boolean(state.media?.getTracks().some((track) => track.kind === kind));
  for (const [button, kind, missing] of [
    [ui.mute, "audio", "No microphone"],
    [ui.camera, "video", "No camera"],
  ]) {
    button.disabled = !has(kind);
    button.title = has(kind) ? "" : missing;
    button.setAttribute("aria-pressed", "false");
  }
  ui.mute.textContent = "Mute";
  ui.camera.textContent = "Camera off";
  const why = failure ? ` (${failure.name})` : "";
  if (!state.media) say(`No camera or microphone${why}: you will see and hear the others, not they you`, "error");
  else if (!has("video")) say(`No camera${why}: the others will hear you, not see you`, "error");
  else if (!has("audio")) say(`No microphone${why}: the others will see you, not hear you`, "error");
  renderLocalBadges();
}

/**
 * The library's client, connected with our name (a new one if the name changed). When the room is
 * known before connecting, the socket is placed in that room's Durable Object (no hop between
 * objects for its signaling); a room the server will name is reached seed-style.
 */
async function connectClient(room) {
  if (state.client && state.client.peerName === state.name) return state.client;
  state.client?.close();
  setStatus("Connecting…", "idle");
  let client;
  try {
    client = await connect(location.origin, {
      token: state.appToken,
      peerinfo: { name: state.name },
      ...(room ? { room } : {}),
      // The page's own ICE servers (public/scripts/config.js) besides the server's, which the
      // library fetches for each call and refreshes before their credentials expire.
      iceServers: window.DEMO_CONFIG?.iceServers ?? [],
    });
  } catch (error) {
    // The caller says why; the status must not stay on "Connecting…".
    setStatus("Not connected", "idle");
    throw error;
  }
  client.peerName = state.name;
  state.client = client;
  state.online = true;
  setStatus("Connected", "connected");
  client.on("connection", (connection, recovered) => {
    state.online = connection === "connected";
    render();
    if (connection === "connected") {
      setStatus("Connected", "connected");
      // Recovered: same id, same room, nothing to do again. Otherwise the library asks for the
      // room again as what we were (and the owner lets us back in: we are still in their call).
      if (recovered && state.roomName) say("Reconnected to the server; the call goes on as it was");
      return;
    }
    setStatus("Connection lost, reconnecting…", "lost");
    const inCall = state.room && state.room.peers.size > 0;
    say(
      inCall ? "Lost the server; your call goes on while the page reconnects" : "Lost the server; reconnecting…",
      "error",
    );
  });
  client.on("error", (error) => say(`The server: ${error.message}`, "error"));
  return client;
}

// ---- rooms -----------------------------------------------------------------

/** Creates the room (owner) or asks to join it (resolves once the owner accepts). */
async function enter(how, name) {
  state.roomName = name || null;
  if (how === "join") setRole("asking");
  const options = { media: state.media };
  const room =
    how === "create"
      ? await state.client.createRoom(name || undefined, options)
      : await state.client.joinRoom(name, options);
  state.room = room;
  state.roomName = room.name;
  setRole(room.role);
  ui.localVideo.srcObject = state.media;
  room.on("join-request", onJoinRequest);
  for (const peer of room.peers.values()) onPeer(peer);
  room.on("peer", (peer) => {
    onPeer(peer);
    say(`${nameOf(peer.info)} joined`);
  });
  room.on("peer-left", (peer) => say(`${nameOf(peer.info)} left`));
  room.on("owner", (peerId, mine) => {
    say(mine ? "You now own the room" : `${nameOf(room.peers.get(peerId)?.info)} now owns the room`);
  });
  room.on("role", (role) => (role === "left" ? undefined : setRole(role)));
  room.on("left", (error) => {
    if (error) say(`Could not stay in "${room.name}": ${error.message}`, "error");
    endCall();
  });
  room.on("error", (error) => console.warn("call:", error.message));
  return room;
}

function onPeer(peer) {
  tiles.add(peer);
  removeRequest(peer.id);
}

/** Creates or joins, as the lobby's buttons ask; a reload comes back with `fallback` too. */
async function enterWithFallback(order, name) {
  let failure = null;
  for (const how of order) {
    try {
      const room = await enter(how, name);
      say(how === "create" ? `Room "${room.name}" is yours: Copy link to invite` : `You joined "${room.name}"`);
      return;
    } catch (error) {
      failure = error;
      const next = how === "create" ? "ERR_ROOM_TAKEN" : "ERR_ROOM_NOT_FOUND";
      if (error.code !== next || order.length === 1) break;
    }
  }
  if (state.room) return; // left meanwhile and entered again
  const message =
    failure?.code === "ERR_JOIN_REJECTED" || failure?.code === "ERR_JOIN_TIMEOUT" || failure?.code === "ERR_ROOM_CLOSED"
      ? `Could not join "${name}": ${failure.message}`
      : (failure?.message ?? "Could not enter the room");
  if (failure?.code !== "ERR_LEFT") say(message, "error");
  endCall();
}

function onJoinRequest(request) {
  // A peer still in our call, back under a new id after losing the server: it was let in already.
  if (request.returning) {
    request.accept().catch((error) => say(`Could not let ${nameOf(request.info)} back in: ${error.message}`, "error"));
    return;
  }
  addRequest(request);
}

/** Out of the room: the library stopped our camera and closed every connection. */
function endCall() {
  tiles.clear();
  for (const item of [...ui.requests.children]) item.remove();
  state.room = null;
  state.roomName = null;
  // The library stops the tracks of a room it ends; a call that never began (a refused join)
  // stops them here. The next call asks for the camera again.
  for (const track of state.media?.getTracks() ?? []) track.stop();
  state.media = null;
  ui.localVideo.srcObject = null;
  setRole(null);
  // The call is over (left, or a join refused): the address is no longer its link. A page going
  // away keeps its address, which its reload comes back to.
  if (!state.unloading) place.showRoomInAddress(null);
}

async function leave() {
  const room = state.room;
  const name = state.roomName;
  if (room) {
    endCall();
    await room.leave();
  } else if (name) {
    await state.client?.cancelJoin(name);
    endCall();
  }
  place.showRoomInAddress(null);
  renderLobby();
  if (name) say(`You left "${name}"`);
}

function addRequest(request) {
  removeRequest(request.peerId);
  const name = nameOf(request.info);
  const item = document.createElement("li");
  item.dataset.peer = request.peerId;
  const label = document.createElement("span");
  label.textContent = `${name} asks to join`;
  const accept = document.createElement("button");
  accept.className = "accept";
  accept.textContent = "Accept";
  const reject = document.createElement("button");
  reject.className = "reject";
  reject.textContent = "Reject";
  const answer = async (yes) => {
    accept.disabled = reject.disabled = true;
    try {
      await (yes ? request.accept() : request.reject());
      if (!yes) say(`You turned ${name} away`);
    } catch (error) {
      say(error.message, "error");
    }
    item.remove();
  };
  accept.onclick = () => answer(true);
  reject.onclick = () => answer(false);
  const buttons = document.createElement("span");
  buttons.className = "buttons";
  buttons.append(accept, reject);
  item.append(label, buttons);
  ui.requests.append(item);
  render();
}

function removeRequest(peerId) {
  [...ui.requests.children].find((li) => li.dataset.peer === peerId)?.remove();
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
    await connectClient(room);
    await enterWithFallback([action], room);
  } catch (error) {
    say(error.message, "error");
  } finally {
    for (const button of ui.lobby.querySelectorAll("button")) button.disabled = false;
  }
});

/** Back where this tab was before a reload: the owner takes the room again (or asks whoever holds it). */
async function resume(call) {
  state.name = ui.name.value.trim();
  state.roomName = call.room;
  state.role = call.role;
  render();
  await startMedia();
  say(`Back to "${call.room}"`);
  await connectClient(call.room);
  const order = call.role === "owner" ? ["create", "join"] : ["join", "create"];
  await enterWithFallback(order, call.room);
}

ui.copyLink.onclick = async () => {
  const link = place.shareLink(state.roomName);
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

ui.leave.onclick = () => void leave();
ui.mute.onclick = () => toggle(ui.mute, "audio", "Mute", "Unmute");
ui.camera.onclick = () => toggle(ui.camera, "video", "Camera off", "Camera on");
// A reload or a closed tab: the library says bye to every peer (no frozen picture on their side)
// and goodbye to the server, which then lets our session go at once instead of keeping it for the
// recovery window.
addEventListener("pagehide", () => {
  state.unloading = true;
  state.client?.close();
});
// Back from the back-forward cache with that socket closed: start again, as a reload does.
addEventListener("pageshow", (event) => {
  if (event.persisted && state.client) location.reload();
});

function toggle(button, kind, offLabel, onLabel) {
  const pressed = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(pressed));
  button.textContent = pressed ? onLabel : offLabel;
  if (state.room) state.room.setEnabled(kind, !pressed);
  else for (const track of state.media?.getTracks() ?? []) if (track.kind === kind) track.enabled = !pressed;
  renderLocalBadges();
}

function renderLocalBadges() {
  const tracks = state.media?.getTracks() ?? [];
  const badge = (kind, off, none) => {
    const track = tracks.find((t) => t.kind === kind);
    if (!track) return [[`no-${kind === "audio" ? "microphone" : "camera"}`, none]];
    return track.enabled ? [] : [off];
  };
  showBadges(ui.localBadges, [
    ...badge("audio", ["muted", "muted"], "no microphone"),
    ...badge("video", ["camera-off", "camera off"], "no camera"),
  ]);
}

// For tests and the curious: what the call looks like from here.
window.demo = {
  socketId: () => state.client?.signaling.socket.id,
  /** Whether the last connect resumed our session (connection state recovery): same id, same rooms. */
  recovered: () => Boolean(state.client?.signaling.socket.recovered),
  room: () => state.roomName,
  /** Every peer of the room; `current`: the server counts it in (not away after losing its connection). */
  links: () =>
    [...(state.room?.peers.values() ?? [])].map((peer) => ({
      id: peer.id,
      name: nameOf(peer.info),
      state: peer.pc?.connectionState,
      current: !peer.away,
      away: peer.away,
    })),
  /** Whether any track this page captured is still live (none after Leave). */
  liveTracks: () => (state.media?.getTracks() ?? []).filter((track) => track.readyState === "live").length,
  /** Decoded video frames per remote peer id, from getStats(). */
  async framesDecoded() {
    const result = {};
    for (const peer of state.room?.peers.values() ?? []) {
      let frames = 0;
      (await peer.pc?.getStats())?.forEach((report) => {
        if (report.type === "inbound-rtp" && report.kind === "video") frames += report.framesDecoded || 0;
      });
      result[peer.id] = frames;
    }
    return result;
  },
};

// The lobby's buttons start disabled (demo.html) and wake up once the page holds a token.
ui.name.value = place.rememberedName();
renderLobby();
fetchJson("/demo/token").then(
  ({ token }) => {
    state.appToken = token;
    for (const button of ui.lobby.querySelectorAll("button")) button.disabled = false;
    const call = place.savedCall();
    if (call && call.room === place.roomInAddress() && ui.name.value.trim()) return resume(call);
    (ui.name.value && place.roomInAddress() ? ui.join : ui.name).focus();
  },
  (error) => say(`The demo cannot start: ${error.message}`, "error"),
);
