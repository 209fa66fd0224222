import { imports, type BackendDescriptor } from "../descriptor.ts";

export const mlflow: BackendDescriptor = {
  name: "mlflow",
  title: "MLflow",
  modes: ["native", "docker", "url"],
  defaultMode: "native",
  credentials: { env: ["MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"] },
  sdk: { module: "mlflow", detect: [imports("mlflow"), /\bMLFlowLogger\b/] },
  composeStack: "mlflow",
  load: () => import("./driver.ts").then((m) => m.mlflowDriver),
};
