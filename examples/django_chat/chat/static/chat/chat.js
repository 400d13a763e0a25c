// Sends the prompt and shows the answer as its Server-Sent Events arrive: the text as it is
// written, and each tool call as its arguments stream (agentools parses them while they come).
// EventSource only makes GET requests, so the stream is read from a POST's response body.
const form = document.querySelector("#ask");
const log = document.querySelector("#log");

function add(tag, className, text = "") {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = text;
  log.append(element);
  element.scrollIntoView({ block: "end" });
  return element;
}

function showArguments(box, parsed, complete) {
  const list = box.querySelector("dl");
  list.replaceChildren();
  for (const [name, value] of Object.entries(parsed ?? {})) {
    const term = document.createElement("dt");
    const detail = document.createElement("dd");
    term.textContent = name;
    detail.textContent = typeof value === "string" ? value : JSON.stringify(value);
    detail.classList.toggle("done", complete === true || complete.includes(name));
    list.append(term, detail);
  }
}

function answer() {
  let text = null; // the paragraph the next text delta goes to
  const calls = new Map(); // this model turn's tool calls by index, then by id
  return {
    text({ delta }) {
      text ??= add("p", "text");
      text.textContent += delta;
    },
    tool_call({ index, name, parsed, complete }) {
      text = null;
      let box = calls.get(index);
      if (!box) {
        box = add("div", "tool");
        box.append(Object.assign(document.createElement("div"), { className: "name" }));
        box.append(document.createElement("dl"));
        calls.set(index, box);
      }
      box.querySelector(".name").textContent = name;
      showArguments(box, parsed, complete);
    },
    tool_call_done({ index, id, parsed }) {
      const box = calls.get(index);
      calls.delete(index); // the next turn numbers its calls from 0 again
      calls.set(id, box);
      box.classList.add("called");
      showArguments(box, parsed, true);
    },
    tool_result({ id, content, error }) {
      const result = add("div", error ? "result failed" : "result", `→ ${content}`);
      calls.get(id)?.after(result);
    },
    retry() {
      text?.remove();
      text = null;
    },
    refusal({ text: refusal }) {
      add("p", "text refusal", refusal);
    },
    done() {},
    error({ error, message }) {
      add("p", "error", `${error}: ${message}`);
    },
  };
}

async function send(prompt) {
  const shown = answer();
  const response = await fetch(form.dataset.stream, {
    method: "POST",
    headers: { "X-CSRFToken": form.csrfmiddlewaretoken.value },
    body: new URLSearchParams({ prompt }),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const kind = /^event: (.*)$/m.exec(frame)[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)[1]);
      shown[kind]?.(data);
    }
  }
}

form.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  const prompt = form.prompt.value.trim();
  if (!prompt) return;
  form.prompt.value = "";
  form.send.disabled = true;
  add("p", "user", prompt);
  try {
    await send(prompt);
  } catch (error) {
    add("p", "error", String(error));
  } finally {
    form.send.disabled = false;
    form.prompt.focus();
  }
});
