/** Argument groups shared by several commands. */
export const jsonArgs = {
  json: { type: "boolean", description: "Write one JSON document to stdout (logs stay on stderr)" },
} as const;

export const pythonArgs = {
  python: { type: "string", description: "Use this Python interpreter instead of e2e's own venv (it must have torch and the SDKs)", valueHint: "PATH" },
  assets: { type: "string", description: "Use this folder of templates (from `e2e assets extract`) instead of the embedded ones", valueHint: "DIR" },
} as const;
