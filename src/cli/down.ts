import { defineCommand } from "citty";
import { downCommand } from "../commands/down.ts";
import { COMMANDS } from "./meta.ts";
import { jsonArgs } from "./_shared.ts";

export default defineCommand({
  meta: COMMANDS.down,
  args: {
    session: { type: "string", description: "Remove this session's resources (from `e2e up --keep`)" },
    all: { type: "boolean", description: "Remove every e2e session's resources, kept ones and live ones included" },
    ...jsonArgs,
  },
  run: ({ args }) => downCommand({ session: args.session, all: args.all, json: args.json }),
});
