// The demo page: a mesh video call through the edge signaling server.
// Plain browser JavaScript on purpose: it shows what a client of the
// protocol (docs/PROTOCOL.md) needs, with nothing else in the way.
(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"),
    lobby: $("lobby"),
    name: $("name"),
    room: $("room"),
    call: $("call"),
    roomName: $("room-name"),
    role: $("role"),
    requests: $("requests"),
    videos: $("videos"),
    localVideo: $("local-video"),
    mute: $("mute"),
    camera: $("camera"),
    leave: $("leave"),
    messages: $("messages"),
  };

  const state = {
    socket: null,
    appToken: null,
    session: null,
    iceServers: [],
    localStream: null,
    name: "",
    room: null, // the room we are in, or asking to join
    joined: false,
    asking: false,
    owner: false,
    peers: new Map(), // peer id -> { pc, name, tile, queued: RTCIceCandidateInit[] }
  };

  // ---- messages and status ------------------------------------------------

  function say(text, kind = "info") {
    const item = document.createElement("li");
    item.textContent = text;
    if (kind === "error") item.className = "error";
    ui.messages.prepend(item);
    while (ui.messages.children.length > 8) ui.messages.lastChild.remove();
  }

  function setStatus(text, stateName) {
    ui.status.textContent = text;
    ui.status.dataset.state = stateName;
  }

  function showCall(inCall) {
    ui.call.hidden = !inCall;
    ui.lobby.hidden = inCall;
    ui.roomName.textContent = state.room || "";
    ui.role.textContent = state.owner ? "(you own it)" : state.joined ? "" : "(waiting for the owner)";
  }

  // ---- setup -----------------------------------------------------------------

  async function fetchJson(url, options) {
    const res = await fetch(url, options);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error ? body.error.message : `${url} answered ${res.status}`);
    return body.response;
  }

  function loadOptionalScript(src) {
    return new Promise((resolve) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = resolve; // config.js is optional
      document.head.append(script);
    });
  }

  async function prepare() {
    await loadOptionalScript("/scripts/config.js");
    const { token } = await fetchJson("/demo/token");
    state.appToken = token;
    const local = window.DEMO_CONFIG?.iceServers || [];
    const fromServer = await fetchJson("/ice-servers", { headers: { Authorization: `Bearer ${token}` } })
      .then((r) => r.iceServers)
      .catch((error) => {
        say(`No ICE servers from the server (${error.message}); using local ones only`, "error");
        return [];
      });
    state.iceServers = [...local, ...fromServer];
  }

  async function startMedia() {
    if (state.localStream) return;
    try {
      state.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      ui.localVideo.srcObject = state.localStream;
    } catch (error) {
      say(`No camera or microphone (${error.name}); you will see and hear the others only`, "error");
    }
  }

  // ---- the socket ------------------------------------------------------------

  /** Connects and authenticates; resolves once the first session token is in. */
  function connect() {
    const socket = io({ transports: ["websocket"], auth: { token: state.appToken } });
    state.socket = socket;
    setStatus("Connecting…", "idle");
    let ready;
    const authenticated = new Promise((resolve) => {
      ready = resolve;
    });

    socket.on("connect", async () => {
      setStatus("Connected", "connected");
      await authenticate();
      ready();
      // Back after a drop: the server let us go, so come back to the room.
      if (state.room && !state.joined && !state.asking) await rejoin();
    });
    socket.on("disconnect", (reason) => {
      setStatus("Connection lost, reconnecting…", "lost");
      // The server has taken us out of every room; remember which, to come back.
      if (state.room) {
        closeAllPeers();
        state.joined = false;
        state.owner = false;
        state.asking = false;
        showCall(true);
      }
      if (reason !== "io client disconnect") say("Connection to the server lost; reconnecting…", "error");
    });
    socket.on("connect_error", (error) => {
      setStatus("Cannot connect", "lost");
      say(`Cannot connect: ${error.message}`, "error");
    });

    socket.on("unauthorized", ({ message }) => say(`Server refused our session: ${message}`, "error"));
    socket.on("signaling-error", ({ message, event }) => say(`${event ? `${event}: ` : ""}${message}`, "error"));

    socket.on("room-join-request", ({ peer_id, peerinfo }) => addRequest(peer_id, nameOf(peerinfo)));
    socket.on("room-join-accept", ({ room, peers, peersinfo }) => {
      state.room = room;
      state.joined = true;
      state.asking = false;
      showCall(true);
      say(`You joined "${room}"`);
      // The newcomer calls everyone already there.
      for (const id of peers) call(id, nameOf(peersinfo[id]));
    });
    socket.on("room-join-reject", ({ room, message }) => {
      say(`Could not join "${room}": ${message}`, "error");
      state.asking = false;
      if (!state.joined) {
        state.room = null;
        showCall(false);
      }
    });
    socket.on("room-user-join", ({ peer_id, peerinfo }) => {
      ensurePeer(peer_id, nameOf(peerinfo));
      removeRequest(peer_id);
      say(`${nameOf(peerinfo)} joined`);
    });
    socket.on("room-user-leave", ({ peer_id, peerinfo }) => {
      removePeer(peer_id);
      say(`${nameOf(peerinfo)} left`);
    });
    socket.on("room-owner-change", ({ peer_id, peerinfo }) => {
      state.owner = peer_id === socket.id;
      showCall(true);
      say(state.owner ? "You now own the room" : `${nameOf(peerinfo)} now owns the room`);
    });
    socket.on("session-description", onSessionDescription);
    socket.on("ice-candidate", onIceCandidate);

    return authenticated;
  }

  async function authenticate() {
    const outcome = await state.socket.emitWithAck("auth-request", {
      token: state.appToken,
      peerinfo: { name: state.name },
    });
    if (outcome.ok) state.session = outcome.data.token;
    else say(`Authentication failed: ${outcome.error.message}`, "error");
  }

  function emit(event, data) {
    return state.socket.emitWithAck(event, { auth: state.session, room: state.room, ...data });
  }

  // ---- rooms -----------------------------------------------------------------

  async function createRoom(room) {
    const outcome = await state.socket.emitWithAck("room-create-request", {
      auth: state.session,
      ...(room ? { room } : {}),
    });
    if (!outcome.ok) return outcome;
    state.room = outcome.data.room;
    state.joined = true;
    state.owner = true;
    showCall(true);
    say(`Room "${state.room}" is yours; share its name`);
    return outcome;
  }

  async function askToJoin(room) {
    state.room = room;
    state.asking = true;
    showCall(true);
    const outcome = await state.socket.emitWithAck("room-join-request", { auth: state.session, room });
    if (outcome.ok) say(`Asked to join "${room}"; waiting for its owner`);
    return outcome;
  }

  /** After a reconnect: take the room back if it emptied, or ask to join it again. */
  async function rejoin() {
    const room = state.room;
    const created = await createRoom(room);
    if (created.ok) return;
    say(`Asking to join "${room}" again`);
    await askToJoin(room);
  }

  function leave() {
    if (state.room) emit("room-leave-request", {}).catch(() => {});
    closeAllPeers();
    for (const item of [...ui.requests.children]) item.remove();
    Object.assign(state, { room: null, joined: false, owner: false, asking: false });
    showCall(false);
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
      const outcome = await emit(event, { peer_id: peerId, to: peerId });
      item.remove();
      if (!outcome.ok) say(`${outcome.error.message}`, "error");
      else if (event === "room-join-reject") say(`You turned ${name} away`);
    };
    accept.onclick = () => answer("room-join-accept");
    reject.onclick = () => answer("room-join-reject");
    const buttons = document.createElement("span");
    buttons.className = "buttons";
    buttons.append(accept, reject);
    item.append(label, buttons);
    ui.requests.append(item);
  }

  function removeRequest(peerId) {
    for (const item of ui.requests.querySelectorAll("li")) if (item.dataset.peer === peerId) item.remove();
  }

  // ---- WebRTC ----------------------------------------------------------------

  function ensurePeer(id, name) {
    const existing = state.peers.get(id);
    if (existing) {
      if (name) existing.setName(name);
      return existing;
    }
    const pc = new RTCPeerConnection({ iceServers: state.iceServers });
    const tile = document.createElement("figure");
    tile.className = "tile";
    tile.dataset.peer = id;
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    const caption = document.createElement("figcaption");
    tile.append(video, caption);
    ui.videos.append(tile);

    const peer = {
      pc,
      tile,
      video,
      queued: [],
      setName(next) {
        peer.name = next;
        caption.textContent = next;
      },
    };
    peer.setName(name || "…");

    if (state.localStream) for (const track of state.localStream.getTracks()) pc.addTrack(track, state.localStream);
    else for (const kind of ["audio", "video"]) pc.addTransceiver(kind, { direction: "recvonly" });

    pc.onicecandidate = ({ candidate }) => {
      if (candidate) emit("relay-ice-candidate", { to: id, peer_id: id, ice_candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ streams, track }) => {
      video.srcObject = streams[0] || new MediaStream([track]);
    };
    pc.onconnectionstatechange = () => {
      tile.dataset.state = pc.connectionState;
      if (pc.connectionState === "failed") say(`Media connection with ${peer.name} failed`, "error");
    };
    state.peers.set(id, peer);
    return peer;
  }

  async function call(id, name) {
    const { pc } = ensurePeer(id, name);
    await pc.setLocalDescription(await pc.createOffer());
    await emit("relay-session-description", { to: id, peer_id: id, session_description: pc.localDescription.toJSON() });
  }

  async function onSessionDescription({ peer_id, peerinfo, session_description }) {
    const peer = ensurePeer(peer_id, nameOf(peerinfo));
    try {
      await peer.pc.setRemoteDescription(session_description);
      for (const candidate of peer.queued.splice(0)) await peer.pc.addIceCandidate(candidate);
      if (session_description.type === "offer") {
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        await emit("relay-session-description", {
          to: peer_id,
          peer_id,
          session_description: peer.pc.localDescription.toJSON(),
        });
      }
    } catch (error) {
      say(`Could not use ${peer.name}'s session description: ${error.message}`, "error");
    }
  }

  async function onIceCandidate({ peer_id, peerinfo, ice_candidate }) {
    const peer = ensurePeer(peer_id, nameOf(peerinfo));
    // Candidates can overtake the description they belong to.
    if (!peer.pc.remoteDescription) return peer.queued.push(ice_candidate);
    await peer.pc.addIceCandidate(ice_candidate).catch((error) => say(`Bad ICE candidate: ${error.message}`, "error"));
  }

  function removePeer(id) {
    const peer = state.peers.get(id);
    if (!peer) return;
    peer.pc.close();
    peer.tile.remove();
    state.peers.delete(id);
  }

  function closeAllPeers() {
    for (const id of [...state.peers.keys()]) removePeer(id);
  }

  function nameOf(peerinfo) {
    return (peerinfo && typeof peerinfo.name === "string" && peerinfo.name) || "Someone";
  }

  // ---- controls --------------------------------------------------------------

  ui.lobby.addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "create";
    const room = ui.room.value.trim();
    if (action === "join" && !room) return say("Type the name of the room to join", "error");
    state.name = ui.name.value.trim();
    for (const button of ui.lobby.querySelectorAll("button")) button.disabled = true;
    try {
      await startMedia();
      if (!state.socket) await connect();
      else await authenticate(); // the name may have changed
      const outcome = action === "create" ? await createRoom(room) : await askToJoin(room);
      if (!outcome.ok) {
        say(outcome.error.message, "error");
        if (action === "join") leave();
      }
    } catch (error) {
      say(error.message, "error");
    } finally {
      for (const button of ui.lobby.querySelectorAll("button")) button.disabled = false;
    }
  });

  ui.leave.onclick = leave;
  ui.mute.onclick = () => toggle(ui.mute, "audio", "Mute", "Unmute");
  ui.camera.onclick = () => toggle(ui.camera, "video", "Camera off", "Camera on");

  function toggle(button, kind, offLabel, onLabel) {
    const pressed = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(pressed));
    button.textContent = pressed ? onLabel : offLabel;
    for (const track of state.localStream ? state.localStream.getTracks() : []) {
      if (track.kind === kind) track.enabled = !pressed;
    }
  }

  // For tests and the curious: what the call looks like from here.
  window.demo = {
    socketId: () => state.socket?.id,
    /** Drops the connection as a network failure would; the page reconnects by itself. */
    dropConnection: () => state.socket?.io.engine.close(),
    room: () => state.room,
    peers: () =>
      [...state.peers.entries()].map(([id, peer]) => ({ id, name: peer.name, state: peer.pc.connectionState })),
    /** Decoded video frames per remote peer, from getStats(). */
    async framesDecoded() {
      const result = {};
      for (const [id, peer] of state.peers) {
        let frames = 0;
        (await peer.pc.getStats()).forEach((report) => {
          if (report.type === "inbound-rtp" && report.kind === "video") frames += report.framesDecoded || 0;
        });
        result[id] = frames;
      }
      return result;
    },
  };

  // The lobby's buttons start disabled (demo.html) and wake up once the page holds a token.
  prepare().then(
    () => {
      for (const button of ui.lobby.querySelectorAll("button")) button.disabled = false;
    },
    (error) => say(`The demo cannot start: ${error.message}`, "error"),
  );
})();
