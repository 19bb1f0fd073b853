// The events page (loaded after app.js, whose helpers it uses).
"use strict";

document.addEventListener("fallwatch:event_new", () => setTimeout(() => location.reload(), 500));
