// ICE configuration of the demo page. This file is committed and always
// served, so the page never asks for a file that is not there; list your own
// STUN or TURN servers here if you want some besides the server's.
//
// The page also asks the server's GET /ice-servers, which adds the STUN and
// TURN servers configured there (TURN with short-lived credentials), so a
// deployment with STUN_URLS / TURN_URLS / TURN_SECRET needs nothing here.
// With no servers at all, peers on one network (or one machine) still connect.
window.DEMO_CONFIG = {
  iceServers: [
    // { urls: "stun:stun.example.org:3478" },
    // { urls: "turn:turn.example.org:3478", username: "user", credential: "password" },
  ],
};
