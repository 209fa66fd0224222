/** The embedded workflows and the sizes each profile gives them. */
export const WORKFLOWS = ["cnn"] as const;
export type WorkflowName = (typeof WORKFLOWS)[number];
export type Profile = "quick" | "full";

export const SIZES: Record<WorkflowName, Record<Profile, Record<string, number>>> = {
  cnn: {
    quick: { steps: 30, batch_size: 16, image_size: 16, classes: 4 },
    full: { steps: 300, batch_size: 64, image_size: 28, classes: 10 },
  },
};

/** Deadline for one workflow run, generous for a 2-core box. */
export const TIMEOUT_MS: Record<Profile, number> = { quick: 300_000, full: 1_800_000 };
