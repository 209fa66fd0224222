import { imports, type BackendDescriptor } from "../descriptor.ts";

export const clearml: BackendDescriptor = {
  name: "clearml",
  title: "ClearML",
  // The compose stack starts with `e2e up`; `e2e run` reaches it with --url.
  modes: ["offline", "url"],
  defaultMode: "offline",
  credentials: {
    env: ["CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY", "E2E_CLEARML_CREDENTIALS_FILE"],
    file: "ClearML keys (KEY=value lines, a clearml.conf, or ACCESS:SECRET)",
  },
  sdk: { module: "clearml", detect: [imports("clearml")] },
  composeStack: "clearml",
  load: () => import("./driver.ts").then((m) => m.clearmlDriver),
};
