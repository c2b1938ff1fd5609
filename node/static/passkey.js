// passkey.js — the customer's side of the Digital Link page: claim with a
// code and a new passkey, then act as the owner (warranty, transfer offer,
// report stolen). No framework, no build step; the page reads fine without it.
// The node prepares each unsigned transaction (POST /api/v1/tx/prepare); its id
// is the WebAuthn challenge; the browser signs it and the node submits it.
"use strict";
(function () {
  const sec = document.getElementById("own");
  if (!sec || !window.PublicKeyCredential) return;
  // The relying party in force (genesis, or the last rp.set) as the node
  // read it with this page: rp id and whether user verification is required.
  const unit = sec.dataset.unit, rp = sec.dataset.rp, owner = sec.dataset.owner || "";
  const uv = sec.dataset.uv === "required" ? "required" : "preferred";
  const out = document.getElementById("pk-out");
  const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
  const unhex = (h) => new Uint8Array(h.match(/../g).map((x) => parseInt(x, 16)));
  const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const say = (t) => { out.textContent = t; };
  // Status lines in the page's language: the node puts them in data-m-*
  // ({h}: a block height); English when a node does not.
  const EN = {
    creating: "Creating your passkey…", claiming: "Claiming…",
    claimed: "Claimed: you own this product (block {h}).", notClaimed: "Not claimed: ",
    signing: "Signing…", done: "Done (block {h}).", refused: "Refused: ", qr: "QR code: ",
    offered: "Transfer offered (block {h}). Show the code to the new owner: it works once, " +
             "for 7 days.",
  };
  const msg = (k, h) => {
    const key = "m" + k.charAt(0).toUpperCase() + k.slice(1);
    return (sec.dataset[key] || EN[k]).replace("{h}", String(h));
  };
  const store = () => JSON.parse(localStorage.getItem("provena-passkeys") || "[]");
  const mine = () => store().find((k) => k.id === owner);
  // Reload at least as of the block that holds our write (?min_height=H,
  // keeping lang=): whichever node answers waits for it or says 503, so a
  // write never seems to vanish. The #code= fragment goes with the reload.
  const reloadAt = (h) => {
    const u = new URL(location.href);
    u.searchParams.set("min_height", String(h));
    u.hash = "";
    location.replace(u.toString());
  };

  async function post(path, doc) {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                  body: JSON.stringify(doc) });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error((j.error && (j.error.code + ": " + j.error.message)) || r.status);
    return j;
  }

  // prepare -> navigator.credentials.get(challenge = tx id) -> submit
  async function signAndSend(pk, type, body, code) {
    const req = { type: type, body: body, passkey: { cred: pk.cred, pub: pk.pub } };
    if (code) req.code = code;
    const p = await post("/api/v1/tx/prepare", req);
    const a = await navigator.credentials.get({ publicKey: {
      challenge: unb64(p.challenge), rpId: rp, userVerification: uv,
      allowCredentials: [{ type: "public-key", id: unhex(pk.cred) }] } });
    const tx = p.tx;
    tx.sig = "00".repeat(64);
    tx.auth = { pub: pk.pub, cred: pk.cred, adata: hex(a.response.authenticatorData),
                cdata: hex(a.response.clientDataJSON), sig: hex(a.response.signature) };
    // this page was read at ?min_height=H (after our last write): whichever
    // node takes the next step admits it only once it has applied H too
    const mh = new URLSearchParams(location.search).get("min_height");
    const q = mh && /^[0-9]{1,18}$/.test(mh) ? "?min_height=" + mh : "";
    return [await post("/api/v1/tx" + q, tx), tx.signer];
  }

  async function newPasskey() {
    const c = await navigator.credentials.create({ publicKey: {
      rp: { id: rp, name: "Provena" },
      user: { id: crypto.getRandomValues(new Uint8Array(16)), name: "owner of " + unit,
              displayName: "Owner of " + unit },
      challenge: crypto.getRandomValues(new Uint8Array(32)),
      pubKeyCredParams: [{ type: "public-key", alg: -7 }],
      authenticatorSelection: { residentKey: "preferred", userVerification: uv },
      attestation: "none" } });
    if (c.response.getPublicKeyAlgorithm() !== -7) throw new Error("passkey is not ES256");
    const spki = new Uint8Array(c.response.getPublicKey());
    return { cred: hex(c.rawId), pub: hex(spki.slice(spki.length - 65)) };
  }

  const claim = document.getElementById("pk-claim");
  if (claim) claim.addEventListener("submit", async (e) => {
    e.preventDefault();
    const code = document.getElementById("pk-code").value; // no name: never in a URL
    try {
      say(msg("creating"));
      const pk = await newPasskey();
      say(msg("claiming"));
      const [rc, id] = await signAndSend(pk, "claim", { unit: unit }, code);
      pk.id = id;
      const all = store().filter((k) => k.id !== pk.id);
      all.push(pk);
      localStorage.setItem("provena-passkeys", JSON.stringify(all));
      say(msg("claimed", rc.height));
      setTimeout(() => reloadAt(rc.height), 800);
    } catch (err) { say(msg("notClaimed") + err.message); }
  });
  // A transfer offer's QR opens this page with #code=...: a fragment never
  // leaves the browser; it fills the claim form.
  const frag = new URLSearchParams(location.hash.slice(1)).get("code");
  const codeIn = document.getElementById("pk-code");
  if (frag && codeIn) codeIn.value = frag;

  const pk = mine();
  const panel = document.getElementById("pk-owner");
  if (!pk || !panel) return;
  panel.hidden = false;
  const randomCode = () => {
    const A = "0123456789ABCDEFGHJKMNPQRSTVWXYZ", r = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(r, (x, i) => (i && i % 4 === 0 ? "-" : "") + A[x & 31]).join("");
  };
  // The QR the recipient scans: this page's URL (no query) with the code in
  // the fragment, drawn by the node (POST /api/v1/qr.svg, see gw_passkey.c).
  async function showQr(code) {
    const u = new URL(location.href);
    u.search = "";
    u.hash = "code=" + code;
    const r = await fetch("/api/v1/qr.svg", { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ url: u.toString() }) });
    if (!r.ok) return; // the code as text is enough
    const svg = new DOMParser().parseFromString(await r.text(), "image/svg+xml").documentElement;
    if (svg.nodeName !== "svg") return;
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", msg("qr") + code);
    svg.setAttribute("width", "220");
    svg.setAttribute("height", "220");
    const box = document.getElementById("pk-qr");
    box.replaceChildren(document.importNode(svg, true));
    box.hidden = false;
  }
  panel.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target, type = f.dataset.act;
    const body = type === "flag" ? { units: [unit], reason: "stolen" } : { unit: unit };
    let code = null;
    if (type === "warranty.claim" && f.elements.note.value) body.note = f.elements.note.value;
    if (type === "transfer.offer") {
      code = randomCode();
      body.expires = Date.now() + 7 * 86400000;
    }
    try {
      say(msg("signing"));
      const [rc] = await signAndSend(pk, type, body, code);
      if (code) {
        document.getElementById("pk-offer").textContent = code;
        f.querySelector("button").hidden = true; // one open offer at a time
        const cancel = panel.querySelector('form[data-act="transfer.cancel"]');
        if (cancel) cancel.hidden = false;
        await showQr(code);
        say(msg("offered", rc.height));
      } else {
        say(msg("done", rc.height));
        setTimeout(() => reloadAt(rc.height), 800);
      }
    } catch (err) { say(msg("refused") + err.message); }
  });
})();
