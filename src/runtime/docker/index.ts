/** Docker mode: the backends' servers from embedded compose definitions, over dockerode. */
export * from "./compose.ts";
export * from "./container-logs.ts";
export * from "./embedded.ts";
export * from "./engine.ts";
export * from "./images.ts";
export * from "./interrupt.ts";
export * from "./reaper.ts";
export * from "./session.ts";
export * from "./stack.ts";
