// SrtpContexts for a test file: made on a given core and closed after each test.
import { afterEach } from "vitest";
import { SrtpContext, type CryptoCore } from "../../src/index.js";

export function contextsOn(core: CryptoCore): (options: ConstructorParameters<typeof SrtpContext>[0]) => SrtpContext {
  const open: SrtpContext[] = [];
  afterEach(() => open.splice(0).forEach((ctx) => ctx.close()));
  return (options) => {
    const ctx = new SrtpContext(options, core);
    open.push(ctx);
    return ctx;
  };
}
