/**
 * The BM-SC Session Manager (docs/architecture.md): per MBMS service it generates the TGKs (with TGK-IDs and
 * TGK_LIFE), TEK_RAND once, and TEK_RAND2 on a schedule; it tells the SRTP sender about every new TEK
 * (MKI = TGK-ID ‖ TEK_RAND2) and builds the per-user MIKEY key messages the key server hands out.
 *
 * All state lives in the KeyStore, written before it is used: a new SessionManager on the same store (an
 * SQLite file after a restart) resumes with the same TGKs, TEK_RAND and TEK_RAND2, hence the same MKI and TEK.
 *
 * Schedule, per service: the TGK chain (tgk-chain.ts); TEK_RAND2 rotates every `tekRand2PeriodMs` (periods
 * aligned on the first one, so a restart keeps the grid) and whenever the TGK in force changes — fresh
 * random bytes each time, persisted before any TEK derived from them is announced (tek-rotation.ts).
 * Each user's next key request falls in a retrieval window (retrieval-window.ts).
 *
 * The store is asynchronous (AsyncKeyStore; a synchronous KeyStore is lifted), so is everything that reads
 * or writes it. What writes a service's TGKs or TEK_RAND2 — the schedule step, rotateTekNow, a revocation,
 * a key request that must extend the TGK chain — runs in the service's queue (service-queue.ts), one at a
 * time: a step still awaiting the store when the next timer fires is not doubled, and each TEK is announced
 * once. A timer-driven step never rejects: a failure is logged (its code), counted (`scheduleFailures`) and
 * retried after `retryMs`.
 */
import { systemClock, unrefTimer, type Clock } from "../../clock.js";
import { consoleLogger, type Logger } from "../../logger.js";
import type { CryptoCore } from "../../wasm/core.js";
import { defaultCore } from "../../wasm/default-core.js";
import { MAX_MKI_LENGTH } from "../../srtp/options.js";
import { MbmsError } from "../errors.js";
import { buildMbmsKeyMessage, type TgkGrant } from "../key-message.js";
import { mkiLayout, mkiLength, type MkiLayout, type TekDerivation } from "../key-hierarchy.js";
import { toAsyncStore, wipeKeyRequestRead, type AsyncKeyStore, type TgkRecord } from "./store/index.js";
import { reconcileUsers, type ConfiguredUser, type ReconcileResult } from "./reconcile-users.js";
import {
  KEY_MESSAGE_CS_ID, checkStoredService, positiveInt, serviceSettings, tekScheme, type ServiceConfig, type ServiceSettings,
} from "./service-config.js";
import { retrievalWindow, type RekeySpread } from "./retrieval-window.js";
import { chainComplete, ensureTgks, wipeTgks, type TgkChain } from "./tgk-chain.js";
import { entitledServices, mayRevoke, revocationMode, revoke, type RevocationContext } from "./revocation.js";
import { ServiceQueue } from "./service-queue.js";
import { ServiceStreams } from "./service-streams.js";
import { ScheduleLease } from "./schedule-lease.js";
import type { TekEvent } from "./tek-event.js";
import { TekRotation } from "./tek-rotation.js";
import { nextStepDue } from "./next-step.js";
import type { SessionManagerOptions } from "./session-options.js";
import type { KeyResponse, KeyResponseOptions } from "./key-response.js";

export type { SessionManagerOptions } from "./session-options.js";
export type { KeyResponse, KeyResponseOptions } from "./key-response.js";

const TEK_RAND_BYTES = 16;
/** How often an instance that does not own a schedule looks for the owner's rotation once a period is due. */
const FOLLOW_POLL_MS = 20;

const random = (n: number): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(n));

export class SessionManager {
  /** The store, as an AsyncKeyStore (a synchronous one given in the options is lifted with asyncStore). */
  readonly store: AsyncKeyStore;
  readonly clock: Clock;
  readonly bmscId: string;
  readonly layout: MkiLayout;
  readonly derivation: TekDerivation;
  /** The SRTP streams of every sender, this process's and the store's; key messages carry their ROCs (service-streams.ts). */
  readonly streams: ServiceStreams;
  #core: CryptoCore;
  #log: Logger;
  #services = new Map<string, ServiceSettings>();
  #timer: unknown;
  #running = false;
  #spread: RekeySpread;
  #slots: number;
  #retryMs: number;
  #chain: TgkChain;
  #tek: TekRotation;
  #scheduleFailures = 0;
  /** What revocation.ts needs of this manager. */
  #revoking: RevocationContext;
  #queue = new ServiceQueue();
  /** Services whose next schedule step announces the TEK in force even if unchanged (start). */
  #announceWanted = new Set<string>();
  /** Services being added (addService awaits the store before they are managed). */
  #adding = new Set<string>();
  /** Bumped by each #reschedule: of several in flight, the last one started arms the timer. */
  #scheduleGen = 0;
  /** Several instances on one store: who owns each schedule (undefined: this one owns all). */
  #lease: ScheduleLease | undefined;

  /** A manager with the services of `options.services` added, one after the other. */
  static async create(options: SessionManagerOptions): Promise<SessionManager> {
    const manager = new SessionManager({ ...options, services: undefined });
    for (const s of options.services ?? []) await manager.addService(s);
    return manager;
  }

  /** A manager without services (adding one awaits the store: SessionManager.create, addService). */
  constructor(options: SessionManagerOptions & { services?: undefined }) {
    if (!options || typeof options !== "object" || !options.store) throw new MbmsError("ERR_ARGUMENT", "a KeyStore is required");
    if (options.services !== undefined) throw new MbmsError("ERR_ARGUMENT", "services are added by SessionManager.create or addService");
    this.store = toAsyncStore(options.store);
    this.clock = options.clock ?? systemClock;
    this.streams = new ServiceStreams(this.store, this.clock);
    this.bmscId = options.bmscId ?? "bmsc.mbms.invalid";
    this.layout = mkiLayout(options.layout);
    // The MKI must fit an SRTP context's (RFC 3711 leaves the length to key management; ours holds ≤ 16).
    if (mkiLength(this.layout) > MAX_MKI_LENGTH) {
      throw new MbmsError("ERR_MKI_LAYOUT", `an SRTP MKI is at most ${MAX_MKI_LENGTH} bytes; the layout makes ${mkiLength(this.layout)}`);
    }
    this.derivation = options.derivation ?? "alt1";
    if (this.derivation !== "alt1" && this.derivation !== "alt2") throw new MbmsError("ERR_ARGUMENT", "derivation is \"alt1\" or \"alt2\"");
    this.#core = options.core ?? defaultCore();
    this.#log = options.logger ?? consoleLogger;
    this.#spread = options.rekeySpread ?? "hash";
    if (this.#spread !== "hash" && this.#spread !== "random") throw new MbmsError("ERR_ARGUMENT", "rekeySpread is \"hash\" or \"random\"");
    this.#slots = options.rekeySlots ?? 16;
    if (!Number.isSafeInteger(this.#slots) || this.#slots < 1 || this.#slots > 1_000_000) throw new MbmsError("ERR_ARGUMENT", "rekeySlots must be an integer in 1..10^6");
    this.#retryMs = positiveInt("retryMs", options.retryMs ?? 1000);
    this.#chain = { store: this.store, maxTgkId: 2 ** (8 * this.layout.tgkIdBytes) - 1, log: this.#log };
    this.#tek = new TekRotation({ store: this.store, layout: this.layout, derivation: this.derivation, core: this.#core, log: this.#log });
    if (options.onTek) this.#tek.listeners.add(options.onTek);
    this.#lease = options.lease && new ScheduleLease(this.store, this.clock, this.#log, options.lease);
    this.#revoking = {
      mode: revocationMode(options.revocation), lease: this.#lease, chain: this.#chain, queue: this.#queue, tek: this.#tek, services: this.#services,
      clock: this.clock, log: this.#log, running: () => this.#running, reschedule: () => this.#reschedule(),
    };
  }

  // ---- users ----

  /**
   * Registers a user and its KEK (16 or 32 bytes; the store keeps a copy), subscribed to `services`
   * (default: every service managed now; a service added later needs a subscription of its own).
   */
  addUser(userId: string, kek: Uint8Array, services: readonly string[] = this.serviceIds): Promise<void> {
    return this.store.addUser({ userId, kek, createdAt: this.clock.now(), services });
  }

  /**
   * Makes the stored users those of `users` (reconcile-users.ts): adds, re-keys, re-subscribes, disables
   * the users not listed (kept, not removed) and enables listed ones. A user without `services` is
   * subscribed to every managed service. Call it after the services are added, before serving.
   */
  async reconcileUsers(users: readonly ConfiguredUser[]): Promise<ReconcileResult> {
    const revoked = new Set<string>();
    const r = await reconcileUsers(this.store, users, {
      allServices: this.serviceIds, now: this.clock.now(), core: this.#core, revoked, beforeWrite: () => mayRevoke(this.#revoking, [...revoked]),
    });
    this.#log("info", "users reconciled", { ...r });
    await revoke(this.#revoking, [...revoked], "users reconciled");
    return r;
  }

  /** Removes a user (false, and nothing changes, if there is none); revokes its services (`revocation`). */
  async removeUser(userId: string): Promise<boolean> {
    const lost = await entitledServices(this.store, userId);
    await mayRevoke(this.#revoking, lost);
    if (!(await this.store.removeUser(userId))) return false;
    await revoke(this.#revoking, lost, "user removed");
    return true;
  }

  /** ERR_NOT_FOUND for an unknown user. Disabling an enabled user revokes its services (`revocation`). */
  async setUserDisabled(userId: string, disabled: boolean): Promise<void> {
    const lost = disabled ? await entitledServices(this.store, userId) : [];
    await mayRevoke(this.#revoking, lost);
    await this.store.setUserDisabled(userId, disabled);
    await revoke(this.#revoking, lost, "user disabled");
  }

  // ---- services ----

  /**
   * Adds a service (creating it in the store with a fresh TEK_RAND, or resuming the stored one) and
   * makes sure it has its TGKs. A stored service must match the configured CSB ID and profile.
   */
  async addService(config: ServiceConfig): Promise<void> {
    const settings = serviceSettings(config);
    const { serviceId, profile } = settings;
    if (this.#services.has(serviceId) || this.#adding.has(serviceId)) throw new MbmsError("ERR_DUPLICATE", `service ${JSON.stringify(serviceId)} already managed`);
    this.#adding.add(serviceId);
    try {
      let stored = await this.store.getService(serviceId);
      if (!stored) {
        const csbId = config.csbId ?? new DataView(random(4).buffer).getUint32(0);
        // Insert-if-absent: an instance starting at the same time may create it first — then it is resumed.
        stored = await this.store.addService({
          serviceId, csbId, csId: KEY_MESSAGE_CS_ID, srtpProfile: profile, tekRand: random(TEK_RAND_BYTES),
          tekScheme: tekScheme(this.derivation, this.layout),
        }).then(() => void this.#log("info", "service created", { serviceId, profile }), (e: MbmsError) => {
          if (e.code !== "ERR_DUPLICATE") throw e;
        }).then(() => this.store.getService(serviceId));
        if (!stored) throw new MbmsError("ERR_STORE", `service ${JSON.stringify(serviceId)} vanished while being added`);
      } else this.#log("info", "service resumed", { serviceId, profile });
      await checkStoredService(this.store, stored, config, settings, tekScheme(this.derivation, this.layout));
      this.#services.set(serviceId, settings);
    } finally {
      this.#adding.delete(serviceId);
    }
    await this.#queue.run(serviceId, async () => {
      if (await this.#owns(serviceId)) wipeTgks(await ensureTgks(this.#chain, settings, this.clock.now()));
    });
    await this.#reschedule();
  }

  get serviceIds(): string[] {
    return [...this.#services.keys()];
  }

  hasService(serviceId: string): boolean {
    return this.#services.has(serviceId);
  }

  // ---- TEK listeners ----

  onTek(listener: (e: TekEvent) => void): () => void {
    this.#tek.listeners.add(listener);
    return () => this.#tek.listeners.delete(listener);
  }

  // ---- schedule ----

  /** Announces the TEKs in force (resumed: true) and starts the timers; resolves after that first step. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.tick(true);
  }

  /** Stops the timers; resolves once the store work under way has settled (await it before closing the store). */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    await this.#queue.idle();
    await this.#lease?.release();
  }

  /** This instance's name in the lease rows (undefined without the `lease` option). */
  get instanceName(): string | undefined {
    return this.#lease?.owner;
  }

  /** Whether this instance owns the service's schedule now (always, without the `lease` option). */
  ownsSchedule(serviceId: string): boolean {
    return this.#lease?.holds(serviceId) ?? true;
  }

  /** Renews or takes the service's lease (without the `lease` option: this instance owns every schedule). */
  #owns(serviceId: string): Promise<boolean> {
    return this.#lease ? this.#lease.own(serviceId) : Promise.resolve(true);
  }

  get running(): boolean {
    return this.#running;
  }

  /** TEK events a listener threw on (each also logged at level "error"). */
  get listenerFailures(): number {
    return this.#tek.listenerFailures;
  }

  /** TEK_RAND2 rotations this instance stored (with a lease: while it owned the schedule). */
  get tekRotations(): number {
    return this.#tek.rotations;
  }

  /** Schedule steps of a service that failed (the store refused or was unreachable; each logged with its code). */
  get scheduleFailures(): number {
    return this.#scheduleFailures;
  }

  /** The TEK_RAND2 period and TGK lifetime of a managed service (what its sender's schedule promises). */
  schedule(serviceId: string): { tekRand2PeriodMs: number; tgkLifetimeMs: number } {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not managed`);
    return { tekRand2PeriodMs: s.tekRand2PeriodMs, tgkLifetimeMs: s.tgkLifetimeMs };
  }

  /**
   * One schedule step per service at clock.now(): new TGKs where due, TEK_RAND2 rotation where due, TEK
   * events. start() and the timers call it; tests may too. Never rejects: a failed step is logged and
   * counted (scheduleFailures), and the next comes after retryMs. A step of a service already queued and
   * not started is joined, not doubled.
   */
  async tick(announceCurrent = false): Promise<void> {
    const ok = await Promise.all([...this.#services.values()].map((s) => {
      if (announceCurrent) this.#announceWanted.add(s.serviceId);
      return this.#queue.step(s.serviceId, () => this.#step(s));
    }));
    await this.#reschedule(ok.includes(false) ? this.#retryMs : undefined);
  }

  async #step(s: ServiceSettings): Promise<boolean> {
    const announce = this.#announceWanted.delete(s.serviceId);
    const now = this.clock.now();
    try {
      if (!(await this.#owns(s.serviceId))) return await this.#tek.follow(s, now, announce).then(() => true);
      wipeTgks(await ensureTgks(this.#chain, s, now));
      await this.#tek.ensureTek(s, now, announce);
      await this.#tek.prepareNext(s, now);
      return true;
    } catch (e) {
      this.#scheduleFailures++;
      this.#log("error", "schedule step failed", { serviceId: s.serviceId, code: (e as { code?: string }).code ?? "unknown" });
      return false;
    }
  }

  /** Arms the timer for the next step due (of every service). Never rejects. */
  async #reschedule(forcedDelay?: number): Promise<void> {
    if (!this.#running) return;
    const gen = ++this.#scheduleGen;
    const now = this.clock.now();
    const dues = await Promise.all([...this.#services.values()].map((s) => nextStepDue(this.store, s, now, this.#retryMs)));
    if (gen !== this.#scheduleGen || !this.#running) return; // a later call read a later state
    // After a failed step the next is in retryMs, not sooner: a step that is due and keeps failing (the
    // store gone) would otherwise run again at once, forever.
    let next = forcedDelay !== undefined ? now + forcedDelay : Math.min(...dues);
    if (this.#lease) {
      // Renewals (and a follower's takeover) need a step every ttl/3; a follower whose boundary has passed
      // waits for the owner's rotation: it polls, instead of stepping again at once.
      next = Math.min(next, now + this.#lease.stepMs);
      if (next <= now && [...this.#services.keys()].some((id) => !this.#lease!.holds(id))) next = now + FOLLOW_POLL_MS;
    }
    if (this.#timer !== undefined) this.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (next === Infinity) return;
    this.#timer = this.clock.setTimer(() => {
      this.#timer = undefined;
      if (this.#running) void this.tick();
    }, Math.max(0, next - this.clock.now()));
    unrefTimer(this.#timer); // a pending rotation never keeps the process alive
  }

  /**
   * Starts a new TEK_RAND2 period of `serviceId` now (persisted, then announced). For a sender that cannot
   * continue the SRTP packet index of the TEK in force — a restarted sender's index starts over, and one
   * keystream must never protect two packets (RFC 3711 §9.1) — or for an early key change.
   */
  async rotateTekNow(serviceId: string): Promise<void> {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not managed`);
    await this.#queue.run(serviceId, async () => {
      if (!(await this.#owns(serviceId))) throw this.#lease!.notOwner(serviceId, "only the owner rotates");
      await this.#tek.ensureTek(s, this.clock.now(), false, true);
    });
  }

  /** The TEK in force for a service (fresh arrays, owned by the caller), without rotating anything. */
  currentTek(serviceId: string): Promise<Omit<TekEvent, "resumed">> {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not managed`);
    return this.#tek.current(s, this.clock.now());
  }

  // ---- key messages ----

  /**
   * The key message for one user: the current TGK and every future TGK already generated, and the
   * user's retrieval window for the next request. The caller has authenticated the user. A re-key
   * (`update`: the user holds TGKs of the service, hence its TEK_RAND) carries no TEK_RAND (RFC 3830 §4.5).
   * ERR_NOT_FOUND for an unknown service or user, ERR_FORBIDDEN if the user is not subscribed to the service.
   * `read`: what the caller already read for the request (store.readKeyRequest); wiped when answered.
   */
  async keyResponse(userId: string, serviceId: string, { update = false, read }: KeyResponseOptions = {}): Promise<KeyResponse> {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", "service not managed");
    const r = read ?? (await this.store.readKeyRequest(userId, serviceId));
    let tgks: TgkRecord[] = [];
    try {
      if (!r.subscribed) throw new MbmsError("ERR_FORBIDDEN", "the user is not subscribed to the service");
      const { user, service: svc } = r;
      if (!user || user.disabled || user.userId !== userId) throw new MbmsError("ERR_NOT_FOUND", "user not found");
      if (!svc) throw new MbmsError("ERR_NOT_FOUND", `service ${JSON.stringify(serviceId)} not found`);
      const now = this.clock.now();
      tgks = await this.#tgksFor(s, now, r.tgks);
      const streams = await this.streams.of(serviceId);
      const grants: TgkGrant[] = tgks.map((t) => ({ tgkId: t.tgkId, tgk: t.tgk, validFrom: t.validFrom, expiresAt: t.expiresAt }));
      const body = buildMbmsKeyMessage({
        kek: user.kek, bmscId: this.bmscId, userId, serviceId, csbId: svc.csbId, tekRand: svc.tekRand,
        profile: s.profile, derivation: this.derivation, layout: this.layout, tgks: grants, nowMs: now, update,
        streams,
      }, this.#core);
      const last = tgks[tgks.length - 1]!;
      const { from, window } = this.retrievalWindow(userId, serviceId, last.expiresAt, last.tgkId, now);
      return { body, rekeyFrom: from, rekeyWindow: window, tgkIds: tgks.map((t) => t.tgkId) };
    } finally {
      wipeKeyRequestRead(r);
      wipeTgks(tgks);
    }
  }

  /**
   * The live TGKs for a key message, from the service's TGKs as read (`stored`). Only when the chain lacks
   * a TGK (the schedule step is late) are they made, in the service's queue: concurrent requests must not
   * each add the same missing TGK.
   */
  async #tgksFor(s: ServiceSettings, now: number, stored: TgkRecord[]): Promise<TgkRecord[]> {
    const tgks = stored.filter((t) => t.expiresAt > now);
    if (chainComplete(tgks, s, now)) return tgks;
    if (!this.ownsSchedule(s.serviceId) && tgks.some((t) => t.validFrom <= now)) return tgks; // a non-owner never writes
    if (!this.ownsSchedule(s.serviceId)) throw new MbmsError("ERR_NOT_FOUND", "no TGK in force yet (the schedule's owner makes it)");
    return this.#queue.run(s.serviceId, () => ensureTgks(this.#chain, s, this.clock.now()));
  }

  /**
   * The retrieval window of `userId` for the TGK after the one expiring at `lastExpiry`: one of
   * `rekeySlots` slots of [lastExpiry − lead, lastExpiry − lead/2).
   */
  retrievalWindow(userId: string, serviceId: string, lastExpiry: number, lastTgkId: number, now = this.clock.now()): { from: number; window: number } {
    const s = this.#services.get(serviceId);
    if (!s) throw new MbmsError("ERR_NOT_FOUND", "service not managed");
    return retrievalWindow({ userId, serviceId, lastExpiry, lastTgkId, now, nextTgkLeadMs: s.nextTgkLeadMs, slots: this.#slots, spread: this.#spread });
  }
}
