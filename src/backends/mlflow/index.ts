import composeYml from "../../../assets/compose/mlflow.yml" with { type: "text" };
import { imports, type BackendDescriptor } from "../descriptor.ts";

export const mlflow: BackendDescriptor = {
  name: "mlflow",
  title: "MLflow",
  modes: ["native", "docker", "url"],
  defaultMode: "native",
  // Optional: a server without auth needs none.
  credentials: {
    env: ["MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"],
    file: "the token (bare, or MLFLOW_TRACKING_TOKEN=...; or MLFLOW_TRACKING_USERNAME=... and MLFLOW_TRACKING_PASSWORD=... lines)",
    fileEnv: "E2E_MLFLOW_CREDENTIALS_FILE",
    required: false,
  },
  sdk: { module: "mlflow", detect: [imports("mlflow"), /\bMLFlowLogger\b/], pinned: "3.17.2", supported: { min: "2.9.0", belowMajor: 4 } },
  timestamps: { toleranceMs: 0, rule: "MLflow stores the client's timestamp as integer ms: exact" },
  compose: { stack: "mlflow", yml: composeYml as string },
  load: () => import("./driver.ts").then((m) => m.mlflowDriver),
};
