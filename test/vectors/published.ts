// The published vectors, as one object: what run-vectors.ts takes. Imported as JSON modules, so that the
// browser bundle (test/browser/vectors.test.ts) carries the same files the Node tests read.
import kernels from "./kernels.json" with { type: "json" };
import srtp from "./srtp.json" with { type: "json" };
import mikeyPrf from "./mikey-prf.json" with { type: "json" };
import mikeyTek from "./mikey-tek.json" with { type: "json" };
import serviceMatrix from "./mbms-service-matrix.json" with { type: "json" };

export const published = { kernels, srtp, mikeyPrf, mikeyTek, serviceMatrix };
export type PublishedVectors = typeof published;
