/**
 * Each top-level command's name and one-line description, apart from its code: `e2e --help`
 * lists them without loading any command (which would load nearly all of e2e).
 */
export const COMMANDS = {
  run: { name: "run", description: "Start each backend, run the workflows against it and verify everything arrived" },
  doctor: { name: "doctor", description: "What is present, what is missing, and how to fix it" },
  setup: { name: "setup", description: "Create (or check) the Python environment the workflows run in" },
  assets: { name: "assets", description: "Inspect the embedded templates" },
  up: { name: "up", description: "Start backend server stacks in Docker from the embedded compose files (on 127.0.0.1 only)" },
  down: { name: "down", description: "Remove e2e's Docker containers, networks and volumes (of dead sessions, one session, or all)" },
  bench: { name: "bench", description: "Measure each backend (logging throughput, artifacts, API latency, memory, overhead, scalability) and report" },
  bundle: { name: "bundle", description: "Offline bundles for machines with no network" },
  images: { name: "images", description: "Move Docker images to a machine with no registry" },
} as const;

export type CommandName = keyof typeof COMMANDS;
