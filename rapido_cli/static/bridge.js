/*
 * rapido sandbox bridge: a development stand-in for the Rapido app's window.NativeJSBridge.
 *
 * Add it in development only:
 *   <script src="http://127.0.0.1:8787/bridge.js"></script>
 * Each NativeJSBridge.logEvents(eventType, propertiesJson) call is sent to the local `rapido sandbox`
 * (POST /pwa/events), which checks it and prints a live line. Inside the Rapido app the real bridge
 * exists and this script does nothing. It never blocks the page and never throws into it.
 */
(function () {
  "use strict";
  var w = window;
  if (w.NativeJSBridge) {
    // A real bridge (inside the Rapido app), or this script loaded twice: leave it untouched.
    return;
  }
  var base = "__RAPIDO_SANDBOX_URL__";
  try {
    var script = document.currentScript;
    if (script && script.src) {
      base = script.src.replace(/\/bridge\.js(?:[?#].*)?$/, "");
    }
  } catch (e) { /* keep the URL the sandbox wrote in */ }
  var endpoint = base + "/pwa/events";
  var seq = 0;
  var hasConsole = typeof console !== "undefined";

  function report(eventType, answer) {
    if (!hasConsole || !answer) { return; }
    var problems = answer.problems || [];
    if (answer.verdict === "invalid" || answer.verdict === "warning") {
      var text = problems.map(function (p) {
        return (p.path || "event") + ": " + p.message;
      }).join("; ");
      (answer.verdict === "invalid" ? console.warn : console.info).call(
        console, "[rapido sandbox] " + eventType + " " + answer.verdict + ": " + text);
    }
  }

  function send(eventType, propertiesJson) {
    var body;
    try {
      // The properties go as given: the real bridge receives a JSON string, and the sandbox says
      // so when a page passes something else.
      body = JSON.stringify({ eventType: eventType, properties: propertiesJson });
    } catch (e) {
      body = JSON.stringify({ eventType: String(eventType), properties: String(propertiesJson) });
    }
    seq += 1;
    var headers = { "Content-Type": "application/json", "x-rapido-bridge-seq": String(seq) };
    if (typeof fetch === "function") {
      // keepalive: the event still leaves when the page navigates away right after the call.
      fetch(endpoint, { method: "POST", headers: headers, body: body, keepalive: body.length < 60000,
                        mode: "cors", credentials: "omit" })
        .then(function (r) { return r.json(); })
        .then(function (a) { report(eventType, a); })
        .catch(function (e) {
          if (hasConsole) { console.warn("[rapido sandbox] could not reach " + endpoint + ": " + e); }
        });
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", endpoint, true);
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.setRequestHeader("x-rapido-bridge-seq", String(seq));
    xhr.send(body);
  }

  var bridge = {
    logEvents: function (eventType, propertiesJson) {
      try {
        send(eventType, propertiesJson);
      } catch (e) {
        if (hasConsole) { console.warn("[rapido sandbox] event not sent: " + e); }
      }
    }
  };
  try {
    Object.defineProperty(bridge, "__rapidoSandbox", { value: base, enumerable: false });
  } catch (e) { /* old engines: the marker is optional */ }
  w.NativeJSBridge = bridge;
  if (hasConsole) {
    console.info("[rapido sandbox] NativeJSBridge stand-in active: events go to " + endpoint);
  }
})();
