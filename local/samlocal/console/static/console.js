// The console's only script: live refresh over server-sent events, the log tail, the redrive
// button and Swagger UI's set-up. No framework, no build step.
(function () {
  "use strict";
  const prefix = document.currentScript.dataset.prefix;
  // The console refuses a request that changes something without its token, which its pages carry.
  const token = document.querySelector('meta[name="console-token"]').content;
  const view = document.body.dataset.view;
  const live = document.getElementById("live");
  const container = document.getElementById("view");
  let refreshing = false;
  let again = false;

  async function refresh() {
    if (!container) return;
    if (refreshing) { again = true; return; }
    refreshing = true;
    try {
      const open = [...container.querySelectorAll("details[open]")].map(d => d.closest("[data-function],li")?.innerText.slice(0, 80));
      const answer = await fetch(container.dataset.fragment, { cache: "no-store" });
      if (answer.ok) {
        container.innerHTML = await answer.text();
        container.querySelectorAll("details").forEach(d => {
          const key = d.closest("[data-function],li")?.innerText.slice(0, 80);
          if (open.includes(key)) d.open = true;
        });
      }
    } finally {
      refreshing = false;
      if (again) { again = false; setTimeout(refresh, 200); }
    }
  }

  function tailLine(entry) {
    const tail = document.getElementById("tail");
    if (!tail) return;
    const line = document.createElement("div");
    line.className = "line " + (entry.level || "");
    const parts = [entry.time || "", entry.function, entry.level || "", entry.message || entry.text];
    if (entry.order_id) parts.push("order " + entry.order_id);
    line.innerHTML = "";
    const fn = document.createElement("span");
    fn.className = "fn";
    fn.textContent = entry.function;
    line.append((entry.time ? entry.time + " " : ""), fn, " " + parts.slice(2).filter(Boolean).join("  "));
    if (entry.record) {
      line.addEventListener("click", () => {
        const shown = line.querySelector("pre");
        if (shown) { shown.remove(); return; }
        const pre = document.createElement("pre");
        pre.textContent = JSON.stringify(entry.record, null, 2);
        line.append(pre);
      });
    }
    tail.append(line);
    while (tail.childElementCount > 500) tail.firstElementChild.remove();
    tail.scrollTop = tail.scrollHeight;
  }

  if (view !== "api") {
    const events = new EventSource(prefix + "/stream");
    events.onopen = () => live.classList.add("on");
    events.onerror = () => live.classList.remove("on");
    events.addEventListener("changed", refresh);
    events.addEventListener("log", message => tailLine(JSON.parse(message.data)));
  }

  document.addEventListener("click", async event => {
    const button = event.target.closest("button.redrive");
    if (!button) return;
    button.disabled = true;
    button.textContent = "Redriving …";
    const answer = await fetch(prefix + "/queues/" + encodeURIComponent(button.dataset.queue) + "/redrive", {
      method: "POST",
      headers: { "X-Console-Token": token },
    });
    const result = await answer.json();
    button.textContent = "Redriven " + result.redriven;
    refresh();
  });

  if (view === "api" && window.SwaggerUIBundle) {
    window.ui = SwaggerUIBundle({
      url: prefix + "/api/openapi.json",
      dom_id: "#swagger",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "BaseLayout",
      tryItOutEnabled: true,
      // "Try it out" goes through the console's proxy, which wants the token for a POST; the
      // token goes to the console only, never to another origin.
      requestInterceptor: request => {
        if (new URL(request.url, location.href).origin === location.origin) request.headers["X-Console-Token"] = token;
        return request;
      },
    });
  }
})();
