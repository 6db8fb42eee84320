import type { Reporter, TestModule } from "vitest/node";

/**
 * Lists every failed test on the last lines of the run, one line each with its file and the first line
 * of its error: CI keeps only the tail of a long log, and the default reporter prints the failures above
 * their (sometimes very long) diffs.
 */
export default class FailureSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const module of modules) {
      const moduleErrors = module.errors();
      if (moduleErrors.length > 0) lines.push(`${module.relativeModuleId}: ${firstLine(moduleErrors[0]!.message)}`);
      for (const test of module.children.allTests("failed")) {
        const result = test.result();
        const message = result.state === "failed" ? firstLine(result.errors[0]?.message) : "";
        lines.push(`${module.relativeModuleId} > ${test.fullName}: ${message}`);
      }
    }
    if (lines.length === 0) return;
    process.stdout.write(`\nFAILED (${lines.length}):\n${lines.map((l) => `  ${l}\n`).join("")}`);
  }
}

function firstLine(message: string | undefined): string {
  return (message ?? "").split("\n", 1)[0]!.slice(0, 300);
}
