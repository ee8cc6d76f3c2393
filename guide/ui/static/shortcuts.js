// The many-images panel's keys (guide/ui/annotate.py, SHORTCUTS): a key presses its button (keys: key -> element id);
// a digit answers the pending question with that class (classes: the first nine, typed into the chat box and sent).
(keys, classes) => {
  document.addEventListener("keydown", (e) => {
    const t = e.target, tag = (t && t.tagName || "").toLowerCase();
    if (e.ctrlKey || e.metaKey || e.altKey || tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) return;
    const k = e.key.toLowerCase();
    if (keys[k]) {
      const b = document.getElementById(keys[k]);
      if (b) { e.preventDefault(); b.click(); }
    } else if (/^[1-9]$/.test(k) && classes[+k - 1]) {
      const box = document.querySelector("#gm-msg textarea"), send = document.querySelector("#gm-msg button");
      if (!box || !send) return;
      e.preventDefault();
      box.value = classes[+k - 1];
      box.dispatchEvent(new Event("input", {bubbles: true}));
      setTimeout(() => send.click(), 50);
    }
  });
}
