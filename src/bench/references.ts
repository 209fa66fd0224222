/**
 * Published figures others measured, shown beside ours for orientation only: their hardware,
 * versions and load differ, so they never pass or fail anything. Each says where it comes from
 * and under which conditions; figures derived here from the source's own numbers say how.
 */
export interface Reference {
  figure: string;
  conditions: string;
  source: string;
}

export const REFERENCES: readonly Reference[] = [
  {
    figure: "MLflow tracking server (Python), log-batch of 500 metrics: about 8,400 metrics/s (504 requests in 30 s, mean 1.2 s per request)",
    conditions: "k6 with 20 virtual users for 30 s against `mlflow server` with a PostgreSQL store on localhost (MLflow 2.x of November 2024, default workers), hardware not stated; metrics/s derived here as 504 x 500 / 30",
    source: "mlflow/mlflow-go-backend, benchmarks/README.md (https://github.com/mlflow/mlflow-go-backend/blob/main/benchmarks/README.md)",
  },
  {
    figure: "Same set-up, log-batch of 10 metrics: about 3,400 metrics/s (10,224 requests in 30 s, mean 58 ms per request)",
    conditions: "as above; metrics/s derived here as 10224 x 10 / 30",
    source: "mlflow/mlflow-go-backend, benchmarks/README.md (https://github.com/mlflow/mlflow-go-backend/blob/main/benchmarks/README.md)",
  },
];
