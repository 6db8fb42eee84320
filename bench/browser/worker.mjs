// The benchmark's dedicated Worker: builds the cases (suite.mjs) on "prepare", and on "trial" runs the
// cases in the order given, answering with each one's { ms, checked }.
import { prepare } from "./suite.mjs";

let suite;

self.onmessage = async ({ data }) => {
  try {
    if (data.type === "prepare") {
      suite = await prepare(data.config);
      const forgeryRejected = {};
      for (const [name, c] of Object.entries(suite.cases)) forgeryRejected[name] = await c.rejectsForgery();
      self.postMessage({ flavor: suite.flavor, names: Object.keys(suite.cases), forgeryRejected });
    } else {
      const times = {};
      for (const name of data.order) times[name] = await suite.cases[name].run();
      self.postMessage({ times });
    }
  } catch (e) {
    self.postMessage({ error: String(e?.stack ?? e) });
  }
};
