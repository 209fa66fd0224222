import { imports, type BackendDescriptor } from "../descriptor.ts";

export const wandb: BackendDescriptor = {
  name: "wandb",
  title: "W&B",
  // Docker mode needs W&B Server's license and image, which this build cannot start: `e2e up` only.
  modes: ["offline", "url"],
  defaultMode: "offline",
  credentials: { env: ["WANDB_API_KEY", "E2E_WANDB_API_KEY_FILE"], file: "the W&B API key (bare, or a .netrc entry)" },
  sdk: { module: "wandb", detect: [imports("wandb"), /\bWandbLogger\b/] },
  composeStack: "wandb",
  load: () => import("./driver.ts").then((m) => m.wandbDriver),
};
