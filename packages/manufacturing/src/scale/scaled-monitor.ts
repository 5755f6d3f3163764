import mqtt, { type MqttClient } from 'mqtt';
import { LeptonError } from '@lepton/core';
import { shownUrl } from '../internal/guards.js';
import { LineMonitor, type LineEvent, type LineItem, type LineMonitorOptions, type LineMonitorStats } from '../monitoring/line-monitor.js';
import { telemetryItem } from '../telemetry/mqtt.js';
import type { SensorRecord } from '../telemetry/record.js';
import { Membership } from './membership.js';
import { incarnation, resolveScaleOptions, type ResolvedScaleOptions, type ScaledLineMonitorOptions, type ScaleEvent } from './options.js';
import { fnv1a } from './partition.js';
import { SerialQueue } from './serial-queue.js';

/** Counters of a {@link ScaledLineMonitor}: nothing received is dropped without being counted here. */
export interface ScaledLineMonitorStats {
  /** Data messages received. */
  received: number;
  /** Valid samples handed to the monitor. */
  samples: number;
  /** Messages refused (bad JSON or fields, a payload naming another asset or signal than its topic): `rejected` events. */
  rejected: number;
  /** Samples on a partition that is not the asset's ({@link assetPartition}): a misconfigured publisher, refused. */
  misrouted: number;
  /** Samples that arrived for a partition this member no longer owns (in flight during a hand-over), dropped. */
  notOwned: number;
  /** Samples refused because `maxQueue` were waiting. */
  overflow: number;
  /** Partitions taken over (at start, from a member that left, died or ranks lower now). */
  acquired: number;
  /** Partitions handed over to another member. */
  released: number;
  /** Partitions given up without a hand-over. */
  lost: number;
  /** Asset snapshots published (retained). */
  snapshotsPublished: number;
  /** Snapshots restored when taking partitions over. */
  snapshotsRestored: number;
  /** Snapshots refused (invalid, mismatching settings, too large). */
  snapshotsRejected: number;
  /** Events published to `<prefix>/events/<asset>`. */
  eventsPublished: number;
  /** Connections made after the first. */
  reconnects: number;
  /** Presence messages ignored because `maxMembers` other members (or 8 connections of one member) were tracked already. */
  presencesIgnored: number;
  /** The line monitor's own counters. */
  monitor: LineMonitorStats;
}

/** A sample waiting for the monitor, with the partition it came from. */
interface Work {
  partition: number;
  item: LineItem;
}

const ALARM_SOURCES = ['spc', 'model', 'quality', 'clock', 'handover'] as const;
const PRESENCE_VERSION = 1;

/**
 * A {@link LineMonitor} that shares a plant with other processes over MQTT 5, so that one plant's thousands of sensors
 * are monitored by as many processes as it needs, each holding whole assets.
 *
 * The scheme (see the package README, "Scaling out"): publishers put every sample of an asset under one **partition**
 * topic, `<prefix>/data/<partition>/<asset>/<signal>` with `partition = assetPartition(asset, partitions)`
 * ({@link telemetryTopic}). Each partition is consumed through its own shared subscription
 * `$share/<group>/<prefix>/data/<p>/+/+`, and the members agree on exactly one member per partition by rendezvous
 * hashing over the live members ({@link assignPartitions}) — so an asset's windows, SPC charts and alarms live in one
 * process, which a plain shared subscription over all data (balanced per message) cannot give. Members announce
 * themselves with a retained presence message on `<prefix>/members/<id>/<connection>` every `heartbeatMs`, whose MQTT
 * will erases it when the broker loses the connection; a member takes a partition only once no live member claims it.
 *
 * Every owned asset's {@link AssetSnapshot} is published retained to `<prefix>/state/<p>/<asset>` (when first seen,
 * after every alarm it raises or clears, and every `snapshotEveryMs`). When a member dies, the members that rank next
 * for its partitions restore its assets from those snapshots and go on: active alarms keep their ids (never raised
 * twice), and the data missing since the snapshot raises one hand-over alarm per asset (`data-quality:handover-gap`).
 *
 * @example
 * ```ts
 * import { LINE_SIGNALS, ScaledLineMonitor } from '@lepton/manufacturing';
 * const monitor = await ScaledLineMonitor.start({
 *   url: 'mqtt://127.0.0.1:1883', prefix: 'plant', partitions: 64, memberId: process.env.MEMBER ?? 'monitor-1',
 *   monitor: { signals: LINE_SIGNALS, baseline: { '*': Object.fromEntries(LINE_SIGNALS.map((s) => [s, { center: 0, sigma: 1 }])) } },
 *   onEvent: (e) => { if (e.type === 'raised') console.log(e.alarm.id, e.alarm.asset, e.alarm.evidence.source); },
 * });
 * process.on('SIGTERM', () => void monitor.close()); // hands its partitions over, with final snapshots
 * ```
 */
export class ScaledLineMonitor {
  private readonly o: ResolvedScaleOptions;
  private readonly monitor: LineMonitor;
  private readonly membership: Membership;
  private readonly incarnation = incarnation();
  private client: MqttClient | undefined;
  /** Bumped whenever the connection is lost: work started under an older epoch stops. */
  private epoch = 0;
  private joined = false;
  private closing = false;
  /** Partitions whose samples this member accepts (from just before their data subscription is sent). */
  private readonly owned = new Set<number>();
  /** Owned partitions whose data subscription the broker has not acknowledged yet. */
  private readonly subscribing = new Set<number>();
  private readonly assetsOf = new Map<number, Set<string>>();
  /** Partitions being taken over → retained snapshots received for them (asset → payload). */
  private readonly stash = new Map<number, Map<string, Buffer>>();
  private config: number | undefined;
  private barriers = new Map<string, () => void>();
  private barrierSeq = 0;
  /** Samples in arrival order, and the restores, snapshots and hand-overs that run between them. */
  private readonly queue: SerialQueue<Work>;
  /** Snapshots held while taking partitions over, all partitions together (at most `maxAssets`). */
  private stashed = 0;
  private reconciling = false;
  private reconcileAgain = false;
  private settledAt = Infinity;
  private lastPresenceAck = 0;
  private lastMembers = '';
  /** The membership recomputation scheduled for the end of this turn of the event loop, and whether a claim changed. */
  private membersPending: NodeJS.Immediate | undefined;
  private claimsChanged = false;
  private timers: NodeJS.Timeout[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private connections = 0;
  private snapshotting = false;
  private readonly counters: Omit<ScaledLineMonitorStats, 'monitor' | 'presencesIgnored'> = {
    received: 0,
    samples: 0,
    rejected: 0,
    misrouted: 0,
    notOwned: 0,
    overflow: 0,
    acquired: 0,
    released: 0,
    lost: 0,
    snapshotsPublished: 0,
    snapshotsRestored: 0,
    snapshotsRejected: 0,
    eventsPublished: 0,
    reconnects: 0,
  };

  private constructor(options: ResolvedScaleOptions) {
    this.o = options;
    // Alarm ids carry the member and its incarnation: an episode handed over keeps its id, and ids raised by different
    // members (or by one member before and after a restart) never collide.
    const alarms: NonNullable<LineMonitorOptions['alarms']> = { ...options.monitor.alarms };
    for (const k of ALARM_SOURCES) {
      const given = options.monitor.alarms?.[k];
      (alarms as Record<string, object>)[k] = { ...given, idPrefix: `${given?.idPrefix ?? k}-${options.memberId}-${this.incarnation}` };
    }
    this.monitor = new LineMonitor({ ...options.monitor, alarms });
    this.membership = new Membership(options.memberId, options.partitions, options.leaseMs, options.maxMembers);
    this.queue = new SerialQueue<Work>(
      (w) => this.handle(w),
      (err) => this.emit({ type: 'error', error: err instanceof LeptonError ? err : new LeptonError('MFG_MONITOR_FAILED', `Monitoring a sample failed: ${(err as Error).message}`, { cause: err }) }),
    );
  }

  /**
   * Validates the options, connects, joins the group and starts taking partitions (after `settleMs`).
   *
   * @param options - broker, plant topics, partition count, group, member id and the line monitor's settings
   * @returns the running member
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for a bad option (and whatever {@link LineMonitor}'s
   *   constructor throws for bad monitor settings); `MFG_MQTT_CONNECT` when the broker cannot be reached and joined
   *   within `connectTimeoutMs`; `MFG_SCALE_CONFIG_MISMATCH` when the plant's topics were set up with another partition
   *   count
   */
  static async start(options: ScaledLineMonitorOptions): Promise<ScaledLineMonitor> {
    const m = new ScaledLineMonitor(resolveScaleOptions(options));
    try {
      await m.connect(true);
    } catch (err) {
      await m.close({ handOver: false });
      throw err;
    }
    m.timers.push(setInterval(() => m.heartbeat(), m.o.heartbeatMs));
    m.timers.push(setInterval(() => m.enqueueSnapshots(), m.o.snapshotEveryMs));
    return m;
  }

  /** This member's id. */
  get memberId(): string {
    return this.o.memberId;
  }

  /** Partitions this member consumes now (their subscription acknowledged by the broker), ascending. */
  partitions(): number[] {
    return [...this.owned].filter((p) => !this.subscribing.has(p)).sort((a, b) => a - b);
  }

  /** Assets this member monitors now. */
  assets(): string[] {
    return this.monitor.assets();
  }

  /** Live members as this member sees them, sorted (itself included). */
  members(): string[] {
    return this.membership.live(Date.now());
  }

  /** Alarms active now on this member's assets (handed-over episodes with their original ids). */
  active(): ReturnType<LineMonitor['active']> {
    return this.monitor.active();
  }

  /** Counters (see {@link ScaledLineMonitorStats}). */
  stats(): ScaledLineMonitorStats {
    return { ...this.counters, presencesIgnored: this.membership.ignored, monitor: this.monitor.stats() };
  }

  private emit(e: LineEvent | ScaleEvent): void {
    try {
      this.o.onEvent?.(e);
    } catch {
      // A throwing callback must not stop monitoring; it is the caller's bug, and it sees its own exception nowhere else.
    }
  }

  private topic(...levels: Array<string | number>): string {
    return [this.o.prefix, ...levels].join('/');
  }

  /** This connection's tag: presence and client id are per connection. */
  private connectionTag(): string {
    return `${this.incarnation}-${this.connections}`;
  }

  private presenceTopic(): string {
    return this.topic('members', this.o.memberId, this.connectionTag());
  }

  /** Connects a fresh client: a new session per connection, so nothing published under a lost one is replayed later. */
  private async connect(first: boolean): Promise<void> {
    this.connections++;
    const epoch = this.epoch;
    let joined = false;
    const client = mqtt.connect(this.o.url, {
      protocolVersion: 5,
      clientId: `lepton-${this.o.memberId}-${this.connectionTag()}`,
      clean: true,
      keepalive: this.o.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: this.o.connectTimeoutMs,
      // Erases this member's retained presence when the broker loses it: the others take its partitions at once.
      // Per connection: the will of a connection this member has already replaced cannot erase the new one's presence.
      will: { topic: this.presenceTopic(), payload: Buffer.alloc(0), qos: 1, retain: true },
    });
    this.client = client;
    client.on('error', () => undefined); // a failed connection ends in 'close', handled below
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('close', () => {
      if (this.client !== client) return;
      this.lose('disconnected');
      // Fails whatever still waits on this client (subscriptions, publishes): a new connection starts clean.
      client.end(true);
      if (!this.closing && (joined || !first)) this.scheduleReconnect();
    });
    const deadline = setTimeout(() => client.end(true), this.o.connectTimeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('close', () => reject(new LeptonError('MFG_MQTT_CONNECT', `Could not connect to ${shownUrl(this.o.url)} within ${this.o.connectTimeoutMs} ms; is the broker running and MQTT 5?`)));
      });
      await this.join(client, epoch);
    } catch (err) {
      client.end(true);
      throw err instanceof LeptonError ? err : new LeptonError('MFG_MQTT_CONNECT', `Could not join the monitor group on ${shownUrl(this.o.url)}: ${(err as Error).message}.`, { cause: err });
    } finally {
      clearTimeout(deadline);
    }
    joined = true;
    if (this.connections > 1) this.counters.reconnects++;
  }

  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closing) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect(false).catch(() => this.scheduleReconnect());
    }, this.o.reconnectPeriodMs);
  }

  /** Subscribes to the group's control topics, checks the partition count, announces this member. */
  private async join(client: MqttClient, epoch: number): Promise<void> {
    await subscribe(client, [this.topic('members', '+', '+'), this.topic('sync', this.o.memberId), this.topic('config')], 1);
    await this.barrier(client);
    if (this.config !== undefined && this.config !== this.o.partitions) {
      throw new LeptonError(
        'MFG_SCALE_CONFIG_MISMATCH',
        `The plant's topics under '${this.o.prefix}' are split into ${this.config} partitions, not ${this.o.partitions}: every publisher and monitor must use the same count (changing it needs the data re-routed: use a new prefix).`,
        { details: { recorded: this.config, requested: this.o.partitions } },
      );
    }
    if (this.config === undefined) await client.publishAsync(this.topic('config'), JSON.stringify({ v: 1, partitions: this.o.partitions }), { qos: 1, retain: true });
    if (epoch !== this.epoch) throw new LeptonError('MFG_MQTT_CONNECT', 'The connection was lost while joining.');
    this.joined = true;
    this.lastPresenceAck = Date.now();
    this.settledAt = Date.now() + this.o.settleMs;
    await this.publishPresence();
    setTimeout(() => void this.reconcile(), this.o.settleMs).unref();
  }

  /**
   * Resolves once every message the broker queued for this client before now has arrived: a QoS 1 message to our own
   * sync topic comes back after them (the broker delivers one client's messages in order). After subscribing to
   * retained topics, it means all retained messages are here — MQTT has no "end of retained" marker.
   */
  private async barrier(client: MqttClient): Promise<void> {
    const nonce = `${this.incarnation}-${++this.barrierSeq}`;
    const arrived = new Promise<void>((resolve) => this.barriers.set(nonce, resolve));
    await client.publishAsync(this.topic('sync', this.o.memberId), nonce, { qos: 1 });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        arrived,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LeptonError('MFG_MQTT_TIMEOUT', `The broker did not echo a sync message within ${this.o.connectTimeoutMs} ms.`)), this.o.connectTimeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.barriers.delete(nonce);
    }
  }

  private async publishPresence(): Promise<void> {
    const client = this.client;
    if (!client || !this.joined) return;
    const sentAt = Date.now();
    const body = JSON.stringify({ v: PRESENCE_VERSION, member: this.o.memberId, partitions: this.partitions(), at: sentAt });
    await client.publishAsync(this.presenceTopic(), body, {
      qos: 1,
      retain: true,
      // A presence left behind (a broker restarted with persistence, a lost will) disappears for new members too.
      properties: { messageExpiryInterval: Math.max(1, Math.ceil(this.o.leaseMs / 1000)) },
    });
    // The others last heard us when it was sent, not when its acknowledgement was read: after a long stop, an old
    // acknowledgement read late must not make a stale lease look fresh.
    if (this.client === client) this.lastPresenceAck = Math.max(this.lastPresenceAck, sentAt);
  }

  private heartbeat(): void {
    if (!this.joined || this.closing) return;
    const now = Date.now();
    // Self-fencing: if our presence has not reached the broker within the lease, the others consider us gone and may
    // own our partitions already. Stop consuming them before anything else happens, then start over.
    if (now - this.lastPresenceAck > this.o.leaseMs) {
      this.lose('lease-expired');
      this.client?.end(true);
      return;
    }
    this.publishPresence().catch(() => undefined);
    if (this.membership.expire(now).length > 0) this.membersChanged();
    void this.reconcile();
  }

  private membersChanged(): void {
    const live = this.membership.live(Date.now());
    const key = live.join('\u0000');
    if (key === this.lastMembers) return;
    this.lastMembers = key;
    this.emit({ type: 'members', members: live, at: Date.now() });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const prefix = `${this.o.prefix}/`;
    if (!topic.startsWith(prefix)) return;
    const levels = topic.slice(prefix.length).split('/');
    const kind = levels[0];
    if (kind === 'data' && levels.length === 4) return this.onData(levels, topic, payload);
    if (kind === 'members' && levels.length === 3) return this.onPresence(levels[1]!, levels[2]!, payload);
    if (kind === 'sync' && levels.length === 2) {
      this.barriers.get(payload.toString('utf8'))?.();
      return;
    }
    if (kind === 'config' && levels.length === 1) {
      const p = safeJson(payload) as { partitions?: unknown } | undefined;
      if (p && typeof p.partitions === 'number' && Number.isInteger(p.partitions)) this.config = p.partitions;
      return;
    }
    if (kind === 'state' && levels.length === 3) {
      const p = Number(levels[1]);
      const stash = this.stash.get(p);
      // Only while taking the partition over; a snapshot too large is refused unread (bounded memory).
      if (!stash || payload.length === 0) return;
      if (payload.length > this.o.maxSnapshotBytes || this.stashed >= (this.o.monitor.maxAssets ?? 10_000)) {
        this.counters.snapshotsRejected++;
        this.emit({ type: 'error', error: new LeptonError('MFG_SNAPSHOT_INVALID', `A snapshot on partition ${p} is larger than maxSnapshotBytes or over maxAssets; its asset starts afresh.`, { details: { partition: p } }) });
        return;
      }
      if (!stash.has(levels[2]!)) this.stashed++;
      stash.set(levels[2]!, payload);
    }
  }

  private onPresence(id: string, connection: string, payload: Buffer): void {
    if (id === this.o.memberId) return;
    const now = Date.now();
    let changed: boolean;
    if (payload.length === 0) changed = this.membership.left(id, connection);
    else {
      const body = safeJson(payload) as { v?: unknown; partitions?: unknown } | undefined;
      const parts = body?.partitions;
      // Untrusted: only a list of partition numbers in range is believed.
      if (!Array.isArray(parts) || parts.length > this.o.partitions || !parts.every((p) => Number.isInteger(p) && p >= 0 && p < this.o.partitions)) return;
      changed = this.membership.seen(id, connection, parts as number[], now);
    }
    if (changed) this.claimsChanged = true;
    // Coalesced: a burst of presences (many arrive in one read from the socket) costs one sort of the members and one
    // rebalance, not one each.
    this.membersPending ??= setImmediate(() => {
      this.membersPending = undefined;
      const rebalance = this.claimsChanged;
      this.claimsChanged = false;
      if (this.closing) return;
      this.membersChanged();
      if (rebalance) void this.reconcile();
    });
  }

  private onData(levels: string[], topic: string, payload: Buffer): void {
    this.counters.received++;
    // Self-fencing on every message, not only on the heartbeat timer: a process resumed after a long stop (SIGSTOP, a
    // swapped-out VM) may read samples still in its socket before its timers run, and its partitions may be owned
    // elsewhere by now.
    if (this.joined && Date.now() - this.lastPresenceAck > this.o.leaseMs) this.heartbeat();
    const partition = Number(levels[1]);
    const asset = levels[2]!;
    const signal = levels[3]!;
    if (!this.owned.has(partition)) {
      this.counters.notOwned++;
      return;
    }
    let item: LineItem = telemetryItem(topic, payload, { asset, signal });
    if ('record' in item && (item.record.asset !== asset || item.record.signal !== signal)) {
      item = { rejected: { source: topic, issues: [{ field: item.record.asset !== asset ? 'asset' : 'signal', message: "differs from the topic's; the topic decides the partition" }] } };
    } else if ('record' in item && fnv1a(asset) % this.o.partitions !== partition) {
      // Another partition owns this asset: monitoring it here would split its windows across processes.
      this.counters.misrouted++;
      item = { rejected: { source: topic, issues: [{ field: '(topic)', message: `asset belongs to partition ${fnv1a(asset) % this.o.partitions}; publish with telemetryTopic()` }] } };
    }
    if ('rejected' in item) this.counters.rejected++;
    if (this.queue.size >= this.o.maxQueue) {
      this.counters.overflow++;
      return;
    }
    this.queue.push({ partition, item });
  }

  /** Handles one queued sample: fencing, ownership, then the monitor. */
  private async handle(w: Work): Promise<void> {
    if (this.joined && Date.now() - this.lastPresenceAck > this.o.leaseMs) this.heartbeat(); // self-fencing, see onData
    if (!this.owned.has(w.partition)) {
      this.counters.notOwned++;
      return;
    }
    await this.process(w.partition, w.item);
  }

  private async process(partition: number, item: LineItem): Promise<void> {
    let assets = this.assetsOf.get(partition);
    if (!assets) this.assetsOf.set(partition, (assets = new Set()));
    let candidate: string | undefined;
    if ('record' in item) {
      const r: SensorRecord = item.record;
      this.counters.samples++;
      try {
        this.o.onRecord?.(r, partition);
      } catch {
        // see emit()
      }
      if (!assets.has(r.asset)) candidate = r.asset;
    }
    let events: LineEvent[];
    try {
      events = await this.monitor.push(item);
    } catch (err) {
      // A detector failure (e.g. a worker died) loses this push's model events only; the stream goes on.
      this.emit({ type: 'error', error: err instanceof LeptonError ? err : new LeptonError('MFG_MONITOR_FAILED', `Scoring failed: ${(err as Error).message}`, { cause: err }) });
      return;
    }
    const dirty = new Set<string>();
    // A new asset is tracked (and snapshotted at once) only once the monitor holds state for it: a sample it refused
    // (an unknown signal, a future timestamp, one asset over maxAssets) must not grow this member's memory.
    if (candidate !== undefined && this.monitor.hasAsset(candidate)) {
      assets.add(candidate);
      dirty.add(candidate);
    }
    for (const e of events) {
      this.emit(e);
      const alarm = e.type === 'raised' || e.type === 'cleared';
      if (alarm) dirty.add(e.alarm.asset);
      if (this.o.publishEvents === 'all' || (alarm && this.o.publishEvents === 'alarms')) this.publishEvent(e);
    }
    // Right after the alarm's event: a member taking the asset over knows the episode and does not raise it again.
    for (const asset of dirty) this.publishSnapshot(partition, asset);
  }

  private publishEvent(e: LineEvent): void {
    const client = this.client;
    if (!client || !this.joined) return;
    const asset = e.type === 'raised' || e.type === 'cleared' ? e.alarm.asset : e.type === 'quality' ? e.issue.asset : undefined;
    const topic = asset !== undefined && !/[/+#\u0000]/.test(asset) ? this.topic('events', asset) : this.topic('events', '_');
    this.counters.eventsPublished++;
    client.publish(topic, JSON.stringify({ member: this.o.memberId, event: e }), { qos: 1 }, (err) => {
      if (err) this.emit({ type: 'error', error: new LeptonError('MFG_MQTT_PUBLISH', `Publishing an event failed: ${err.message}`, { cause: err }) });
    });
  }

  /** Publishes one asset's snapshot, retained; resolves when the broker has it (or the connection is gone). */
  private publishSnapshot(partition: number, asset: string, final = false): Promise<void> {
    const client = this.client;
    // Only the owner publishes: after losing the broker another member may own the asset and its snapshot.
    if (!client || !this.joined || !this.owned.has(partition)) return Promise.resolve();
    const snap = this.monitor.snapshotAsset(asset, { final });
    if (!snap) return Promise.resolve();
    const body = JSON.stringify(snap);
    if (Buffer.byteLength(body) > this.o.maxSnapshotBytes) {
      this.counters.snapshotsRejected++;
      this.emit({ type: 'error', error: new LeptonError('MFG_SNAPSHOT_TOO_LARGE', `The snapshot of an asset is ${Buffer.byteLength(body)} bytes, over maxSnapshotBytes (${this.o.maxSnapshotBytes}); raise it or shorten the detector window.`, { details: { asset } }) });
      return Promise.resolve();
    }
    this.counters.snapshotsPublished++;
    const epoch = this.epoch;
    return new Promise((resolve) => {
      client.publish(this.topic('state', partition, asset), body, { qos: 1, retain: true, properties: { messageExpiryInterval: this.o.snapshotTtlSeconds } }, (err) => {
        // Cut off by losing the connection (or by fencing ourselves): the asset is no longer ours to snapshot, not an error.
        if (err && epoch === this.epoch) this.emit({ type: 'error', error: new LeptonError('MFG_MQTT_PUBLISH', `Publishing a snapshot failed: ${err.message}`, { cause: err }) });
        resolve();
      });
    });
  }

  private enqueueSnapshots(): void {
    if (this.snapshotting || !this.joined) return;
    this.snapshotting = true;
    void this.queue.task(async () => {
      const pending: Array<Promise<void>> = [];
      for (const p of this.owned) for (const a of this.assetsOf.get(p) ?? []) pending.push(this.publishSnapshot(p, a));
      return Promise.all(pending);
    }).finally(() => (this.snapshotting = false));
  }

  /** Brings the owned partitions in line with the membership (coalesced: one pass at a time, repeated while asked). */
  private async reconcile(): Promise<void> {
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    try {
      do {
        this.reconcileAgain = false;
        if (!this.joined || this.closing || Date.now() < this.settledAt) break;
        const busy = new Set([...this.owned, ...this.stash.keys()]);
        const plan = this.membership.plan(busy, Date.now());
        if (plan.release.length > 0) await this.release(plan.release);
        if (plan.acquire.length > 0) await this.acquire(plan.acquire);
      } while (this.reconcileAgain);
    } catch (err) {
      if (this.joined) this.emit({ type: 'error', error: err instanceof LeptonError ? err : new LeptonError('MFG_MQTT_PUBLISH', `Rebalancing failed: ${(err as Error).message}`, { cause: err }) });
    } finally {
      this.reconciling = false;
    }
  }

  /** Takes partitions over: their retained snapshots are restored, then their data consumed, then they are claimed. */
  private async acquire(partitions: number[]): Promise<void> {
    const client = this.client!;
    const epoch = this.epoch;
    const t0 = Date.now();
    for (const p of partitions) this.stash.set(p, new Map());
    const stateTopics = partitions.map((p) => this.topic('state', p, '+'));
    let stashed: Map<number, Map<string, Buffer>>;
    try {
      await subscribe(client, stateTopics, 1);
      await this.barrier(client);
      await client.unsubscribeAsync(stateTopics);
    } finally {
      stashed = new Map(partitions.map((p) => [p, this.stash.get(p) ?? new Map<string, Buffer>()]));
      for (const p of partitions) {
        this.stashed -= this.stash.get(p)?.size ?? 0;
        this.stash.delete(p);
      }
    }
    if (epoch !== this.epoch) return;
    const restored: string[] = [];
    let rejected = 0;
    await this.queue.task(() => {
      for (const [p, snaps] of stashed) {
        const assets = new Set<string>();
        this.assetsOf.set(p, assets);
        for (const [asset, payload] of snaps) {
          try {
            const snap = JSON.parse(payload.toString('utf8')) as unknown;
            if ((snap as { asset?: unknown } | null)?.asset !== asset || fnv1a(asset) % this.o.partitions !== p) {
              throw new LeptonError('MFG_SNAPSHOT_INVALID', `A snapshot on partition ${p} is not for the asset its topic names; it was ignored.`, { details: { partition: p } });
            }
            this.monitor.restoreAsset(snap);
            assets.add(asset);
            restored.push(asset);
          } catch (err) {
            rejected++;
            this.emit({ type: 'error', error: err instanceof LeptonError ? err : new LeptonError('MFG_SNAPSHOT_INVALID', `A snapshot on partition ${p} is not JSON; its asset starts afresh.`, { details: { partition: p } }) });
          }
        }
      }
    });
    this.counters.snapshotsRestored += restored.length;
    this.counters.snapshotsRejected += rejected;
    if (epoch !== this.epoch) return;
    // Owned before the data subscription is acknowledged: samples may arrive right behind the SUBACK.
    for (const p of partitions) {
      this.owned.add(p);
      this.subscribing.add(p);
    }
    let subscribed = false;
    try {
      await subscribe(client, partitions.map((p) => `$share/${this.o.group}/${this.topic('data', p, '+', '+')}`), this.o.qos);
      subscribed = true;
    } finally {
      for (const p of partitions) {
        this.subscribing.delete(p);
        if (!subscribed) this.owned.delete(p); // taken again on the next pass
      }
    }
    if (epoch !== this.epoch) return;
    this.counters.acquired += partitions.length;
    await this.publishPresence();
    this.emit({ type: 'acquired', partitions: [...partitions].sort((a, b) => a - b), assets: restored, rejectedSnapshots: rejected, ms: Date.now() - t0, at: Date.now() });
  }

  /** Hands partitions over: stop consuming, let queued samples through, publish final snapshots, drop, un-claim. */
  private async release(partitions: number[]): Promise<void> {
    const client = this.client!;
    const epoch = this.epoch;
    await client.unsubscribeAsync(partitions.map((p) => `$share/${this.o.group}/${this.topic('data', p, '+', '+')}`));
    if (epoch !== this.epoch) return;
    const assets: string[] = [];
    await this.queue.task(async () => {
      const pending: Array<Promise<void>> = [];
      for (const p of partitions) {
        for (const a of this.assetsOf.get(p) ?? []) {
          pending.push(this.publishSnapshot(p, a, true));
          this.monitor.forgetAsset(a);
          assets.push(a);
        }
        this.assetsOf.delete(p);
        this.owned.delete(p);
      }
      await Promise.all(pending);
    });
    if (epoch !== this.epoch) return;
    this.counters.released += partitions.length;
    await this.publishPresence();
    this.emit({ type: 'released', partitions: [...partitions].sort((a, b) => a - b), assets, at: Date.now() });
  }

  /** The connection (or the lease) is gone: stop consuming at once, drop the state, never publish it. */
  private lose(reason: 'disconnected' | 'lease-expired'): void {
    if (!this.joined) return;
    this.joined = false;
    this.epoch++;
    const partitions = [...this.owned].sort((a, b) => a - b);
    this.owned.clear();
    this.subscribing.clear();
    this.stash.clear();
    this.stashed = 0;
    for (const resolve of this.barriers.values()) resolve();
    const assets = partitions.flatMap((p) => [...(this.assetsOf.get(p) ?? [])]);
    for (const p of partitions) this.assetsOf.delete(p);
    void this.queue.task(() => {
      for (const a of assets) this.monitor.forgetAsset(a);
    });
    if (partitions.length > 0) {
      this.counters.lost += partitions.length;
      this.emit({ type: 'lost', partitions, reason, at: Date.now() });
    }
  }

  /**
   * Leaves the group. By default hands every partition over first (final snapshots, then un-claimed, so the others
   * take them at once with no data missing from their state), then erases its presence and disconnects.
   *
   * @param options - `handOver: false` leaves like a crash (the others restore from the last periodic snapshots)
   */
  async close(
    options: {
      /** Hand the partitions over first (default true); false leaves like a crash. */
      handOver?: boolean;
    } = {},
  ): Promise<void> {
    if (this.closing) return;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    if (options.handOver !== false && this.joined && client) {
      this.settledAt = Infinity; // no more acquisitions
      while (this.reconciling) await new Promise((r) => setTimeout(r, 10));
      try {
        if (this.owned.size > 0) await this.release([...this.owned]);
        await client.publishAsync(this.presenceTopic(), Buffer.alloc(0), { qos: 1, retain: true });
      } catch {
        // The broker went away while closing: the will does the same.
      }
    }
    this.closing = true;
    clearImmediate(this.membersPending);
    this.joined = false;
    this.epoch++;
    await client?.endAsync(options.handOver === false).catch(() => undefined);
    await this.queue.stop();
  }
}

function safeJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Subscribes and checks the broker granted every topic (a refused `$share` filter comes back as reason code ≥ 128). */
async function subscribe(client: MqttClient, topics: string[], qos: 0 | 1): Promise<void> {
  const granted = await client.subscribeAsync(topics, { qos });
  const refused = granted.filter((g) => g.qos >= 128);
  if (refused.length > 0) {
    throw new LeptonError('MFG_MQTT_SUBSCRIBE', `The broker refused ${refused.length} subscription(s) (e.g. ${refused[0]!.topic}); it must support MQTT 5 shared subscriptions.`, { details: { topics: refused.map((g) => g.topic) } });
  }
}
