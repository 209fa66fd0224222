import composeYml from "../../../assets/compose/clearml.yml" with { type: "text" };
import { imports, type BackendDescriptor } from "../descriptor.ts";

export const clearml: BackendDescriptor = {
  name: "clearml",
  title: "ClearML",
  // The compose stack starts with `e2e up`; `e2e run` reaches it with --url.
  modes: ["offline", "url"],
  defaultMode: "offline",
  credentials: {
    env: ["CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY"],
    file: "the access and secret key (KEY=value lines, a clearml.conf, or ACCESS:SECRET)",
    fileEnv: "E2E_CLEARML_CREDENTIALS_FILE",
    required: true,
  },
  urlIs: "its API server",
  sdk: { module: "clearml", detect: [imports("clearml")], pinned: "2.1.12", supported: { min: "1.14.0", belowMajor: 3 } },
  // ClearML stamps an event when report_scalar creates it (clearml 2.1.12: ScalarEvent ->
  // MetricsEventAdapter, int(time.time() * 1000)); the adapter reads its clock just before each
  // key's report_scalar (a stall reporting one key does not move the next key's time). The window
  // is what lies between those two reads on a loaded 2-core box; a shifted or invented timestamp
  // is far outside.
  timestamps: { toleranceMs: 2_000, rule: "ClearML stamps each scalar event itself when report_scalar creates it (integer ms): within ±2000 ms of the adapter's clock read just before that call" },
  compose: { stack: "clearml", yml: composeYml as string },
  load: () => import("./driver.ts").then((m) => m.clearmlDriver),
};
