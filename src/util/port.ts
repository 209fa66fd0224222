import { createServer } from "node:net";
import { usageError } from "./errors.ts";

/** A port on 127.0.0.1 that was free a moment ago (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Throws a usage error naming the fix when `port` on 127.0.0.1 is taken. */
export function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", () =>
      reject(usageError(`port ${port} on 127.0.0.1 is already in use`, "pick another --port, or leave it out to use a free one")),
    );
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
  });
}
