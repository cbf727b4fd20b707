// ICE configuration for the demo page, as in the original server: copy this
// file to public/scripts/config.js (ignored by git) and list your servers.
// The page also asks the server's GET /ice-servers, which adds the STUN and
// TURN servers configured there (TURN with short-lived credentials), so a
// deployment with STUN_URLS / TURN_URLS / TURN_SECRET needs nothing here.
//
// With no servers at all, peers on one network (or one machine) still connect.
window.DEMO_CONFIG = {
  iceServers: [
    // { urls: "stun:stun.example.org:3478" },
    // { urls: "turn:turn.example.org:3478", username: "user", credential: "password" },
  ],
};
