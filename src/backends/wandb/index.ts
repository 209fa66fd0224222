import composeYml from "../../../assets/compose/wandb.yml" with { type: "text" };
import { imports, type BackendDescriptor } from "../descriptor.ts";

export const wandb: BackendDescriptor = {
  name: "wandb",
  title: "W&B",
  // Docker mode needs W&B Server's license and image, which this build cannot start: `e2e up` only.
  modes: ["offline", "url"],
  defaultMode: "offline",
  credentials: { env: ["WANDB_API_KEY"], file: "the API key (bare, or a .netrc entry)", fileEnv: "E2E_WANDB_API_KEY_FILE", required: true },
  sdk: { module: "wandb", detect: [imports("wandb"), /\bWandbLogger\b/], pinned: "0.31.0", supported: { min: "0.17.0", belowMajor: 1 } },
  // The window is the time between the adapter's clock read and the SDK's own inside one call, on a
  // loaded 2-core box; a shifted or invented timestamp is far outside.
  timestamps: { toleranceMs: 5_000, rule: "W&B stamps each row itself (_timestamp, seconds as a double, read as ms): within ±5000 ms of the adapter's clock" },
  compose: { stack: "wandb", yml: composeYml as string },
  load: () => import("./driver.ts").then((m) => m.wandbDriver),
};
