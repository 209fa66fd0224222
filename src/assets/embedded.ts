// The zip of assets/ and python/ that build.ts makes; embedded into the executable by
// `bun build --compile` because it is imported as a file. Imported only by the compiled program.
import path from "../../dist/assets.zip" with { type: "file" };
export default path;
