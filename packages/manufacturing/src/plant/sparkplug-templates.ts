/**
 * Sparkplug B templates (UDTs) of the edge node ({@link SparkplugEdgeNode}): the definitions it declares in NBIRTH, the
 * instances its devices carry, and the checks that run before anything is published.
 * @module
 */
import { describeValue, LeptonError } from '@lepton/core';
import { encodeSparkplugPayload, SparkplugDataType, SPARKPLUG_MAX_TEMPLATE_DEPTH, type SparkplugDataTypeName, type SparkplugMetric, type SparkplugScalar, type SparkplugTemplate, type SparkplugTemplateParameter } from './sparkplug-codec.js';
import type { SparkplugEdgeNode } from './sparkplug-node.js';

/** A member of a {@link SparkplugTemplateDefinition}: a scalar metric, or (type `Template`) an instance of another definition. */
export interface SparkplugTemplateMember {
  /** Member name, unique in its definition. */
  name: string;
  /** Its datatype; `Template` nests an instance of the definition named by `template`. */
  type: SparkplugDataTypeName;
  /** With type `Template`: the definition nested here (no cycles; at most {@link SPARKPLUG_MAX_TEMPLATE_DEPTH} deep). */
  template?: string;
  /** Scalar members: the default value, sent in the definition and in instances until set (default null, `is_null`). */
  value?: SparkplugScalar | null;
}

/** A template parameter of a {@link SparkplugTemplateDefinition}: name, scalar datatype and default value. */
export interface SparkplugTemplateParameterDefinition {
  /** Parameter name, unique in its definition. */
  name: string;
  /** A scalar datatype. Tahu's JavaScript decoder (1.0.3) reads only Int64, Float, Double, Boolean and String ones. */
  type: Exclude<SparkplugDataTypeName, 'Template'>;
  /** Default value (default null: no value sent). */
  value?: SparkplugScalar | null;
}

/** A template (UDT) definition, published in NBIRTH as `_types_/<name>` with `is_definition: true`. */
export interface SparkplugTemplateDefinition {
  /** Version string, sent with the definition and the instances' births. */
  version?: string;
  /** The members: every member an instance will ever carry (Sparkplug 3.0). */
  metrics: SparkplugTemplateMember[];
  /** Parameters (instances may override their values). */
  parameters?: SparkplugTemplateParameterDefinition[];
}

/** Member values of an instance: scalars by member name, nested templates as nested objects. */
export interface SparkplugTemplateValues {
  [member: string]: SparkplugScalar | null | SparkplugTemplateValues;
}

/** A template instance carried by a device (an asset): a metric of type `Template` with `template_ref`. */
export interface SparkplugTemplateInstance {
  /** Metric name in the device, e.g. `Motor 1` (its first folder may not be `Health`, `Alarms`, `SPC` or `Samples`). */
  name: string;
  /** The definition's name (a key of `templates`). */
  template: string;
  /** Parameter values overriding the definition's, by parameter name. */
  parameters?: Record<string, SparkplugScalar | null>;
  /** Initial member values (the rest keep the definition's defaults). */
  values?: SparkplugTemplateValues;
}

/** Device metric folders of the edge node itself: an instance named into one would clash with them. */
const RESERVED = new Set(['Health', 'Alarms', 'SPC', 'Samples']);

/** Prefix of definition metric names in NBIRTH (the convention of Ignition and Tahu). */
const TYPES = '_types_/';

type Def = { name: string; version: string | undefined; members: SparkplugTemplateMember[]; parameters: SparkplugTemplateParameter[] };
/** An instance's current values: scalars, or the state of a nested instance. */
type State = { def: Def; parameters: SparkplugTemplateParameter[]; values: Map<string, SparkplugScalar | null | State> };
/** What changed in an instance: member names, with the nested changes of template members. */
type Changes = Map<string, true | Changes>;

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(fn: string, field: string, what: string, code: 'INVALID_ARGUMENT' | 'INVALID_INPUT' = 'INVALID_ARGUMENT'): LeptonError {
  return new LeptonError(code, `${fn}: ${field} ${what}.`, { details: { field } });
}

function name(fn: string, field: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw fail(fn, field, `must be a non-empty string, got ${describeValue(v)}`);
  return v;
}

/** Checks a scalar against its datatype with the encoder's own rules (ranges, finiteness), under our field name. */
function scalar(fn: string, field: string, type: unknown, v: unknown, code: 'INVALID_ARGUMENT' | 'INVALID_INPUT'): SparkplugScalar | null {
  if (typeof type !== 'string' || type === 'Template' || !Object.hasOwn(SparkplugDataType, type)) {
    throw fail(fn, field.replace(/\.value$/, '.type'), `must be a scalar datatype (${Object.keys(SparkplugDataType).filter((t) => t !== 'Template').join(', ')}) (not Template), got ${describeValue(type)}`, code);
  }
  if (v === null) return null;
  try {
    encodeSparkplugPayload({ timestamp: 0, metrics: [{ name: 'v', timestamp: 0, type: type as 'String', value: v as string }] });
  } catch {
    throw fail(fn, field, `must be a value of type ${describeValue(type)}, got ${describeValue(v)}`, code);
  }
  return v as SparkplugScalar;
}

function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** @internal The definitions and device instances of an edge node, checked; the instances' current values. */
export class SparkplugTemplates {
  private readonly defs = new Map<string, Def>();
  /** Per asset, its instances by name, in declaration order. */
  private readonly instances = new Map<string, Map<string, State>>();

  constructor(fn: string, templates: unknown, instances: unknown) {
    if (templates !== undefined && !isPlain(templates)) throw fail(fn, 'options.templates', `must be an object of definitions by name, got ${describeValue(templates)}`);
    if (instances !== undefined && !isPlain(instances)) throw fail(fn, 'options.templateInstances', `must be an object of instance lists by asset, got ${describeValue(instances)}`);
    for (const [key, d] of Object.entries(templates ?? {})) this.defs.set(key, this.definition(fn, key, d));
    for (const d of this.defs.values()) this.depth(fn, d, []);
    for (const [asset, list] of Object.entries(instances ?? {})) {
      const at = `options.templateInstances[${describeValue(asset)}]`;
      if (asset.length === 0 || !Array.isArray(list)) throw fail(fn, at, `must be an array of instances of a named asset, got ${describeValue(list)}`);
      const byName = new Map<string, State>();
      list.forEach((i: unknown, k) => {
        const f = `${at}[${k}]`;
        if (!isPlain(i)) throw fail(fn, f, `must be { name, template }, got ${describeValue(i)}`);
        const n = name(fn, `${f}.name`, i['name']);
        if (RESERVED.has(n.split('/')[0]!)) throw fail(fn, `${f}.name`, `${describeValue(n)} is in a folder of the node's own device metrics (${[...RESERVED].join(', ')})`);
        if (byName.has(n)) throw fail(fn, `${f}.name`, `${describeValue(n)} is used twice in one device`);
        const state = this.fresh(fn, `${f}.template`, i['template'], i['parameters'], `${f}.parameters`);
        if (i['values'] !== undefined) this.apply(state, this.check(fn, `${f}.values`, state, i['values'], 'INVALID_ARGUMENT'));
        byName.set(n, state);
      });
      this.instances.set(asset, byName);
    }
  }

  private definition(fn: string, key: string, d: unknown): Def {
    const at = `options.templates[${describeValue(key)}]`;
    if (key.length === 0) throw fail(fn, 'options.templates', 'has a definition with an empty name');
    if (!isPlain(d) || !Array.isArray(d['metrics'])) throw fail(fn, at, `must be { metrics: [...] }, got ${describeValue(d)}`);
    const version = d['version'];
    if (version !== undefined && typeof version !== 'string') throw fail(fn, `${at}.version`, `must be a string, got ${describeValue(version)}`);
    const seen = new Set<string>();
    const unique = (field: string, v: unknown): string => {
      const n = name(fn, field, v);
      if (seen.has(n)) throw fail(fn, field, `${describeValue(n)} is used twice in the definition`);
      seen.add(n);
      return n;
    };
    const members = (d['metrics'] as unknown[]).map((m, k): SparkplugTemplateMember => {
      const f = `${at}.metrics[${k}]`;
      if (!isPlain(m)) throw fail(fn, f, `must be { name, type }, got ${describeValue(m)}`);
      const n = unique(`${f}.name`, m['name']);
      if (m['type'] === 'Template') {
        // That it names a definition is checked once all are read (depth()).
        return { name: n, type: 'Template', template: name(fn, `${f}.template`, m['template']) };
      }
      return { name: n, type: m['type'] as SparkplugDataTypeName, value: scalar(fn, `${f}.value`, m['type'], m['value'] ?? null, 'INVALID_ARGUMENT') };
    });
    if (d['parameters'] !== undefined && !Array.isArray(d['parameters'])) throw fail(fn, `${at}.parameters`, `must be an array, got ${describeValue(d['parameters'])}`);
    seen.clear();
    const parameters = ((d['parameters'] as unknown[] | undefined) ?? []).map((p, k): SparkplugTemplateParameter => {
      const f = `${at}.parameters[${k}]`;
      if (!isPlain(p) || p['type'] === 'Template') throw fail(fn, f, `must be { name, type } with a scalar type, got ${describeValue(p)}`);
      return { name: unique(`${f}.name`, p['name']), type: p['type'] as 'String', value: scalar(fn, `${f}.value`, p['type'], p['value'] ?? null, 'INVALID_ARGUMENT') };
    });
    return { name: key, version, members, parameters };
  }

  /** Refuses unknown nested definitions, cycles (A holds B holds A) and nesting deeper than the codec allows. */
  private depth(fn: string, d: Def, path: string[]): number {
    if (path.includes(d.name)) throw fail(fn, 'options.templates', `form a cycle: ${[...path, d.name].map((n) => describeValue(n)).join(' → ')}`);
    if (path.length >= SPARKPLUG_MAX_TEMPLATE_DEPTH) throw fail(fn, 'options.templates', `nest deeper than ${SPARKPLUG_MAX_TEMPLATE_DEPTH}: ${[...path, d.name].map((n) => describeValue(n)).join(' → ')}`);
    let deepest = 1;
    for (const m of d.members) {
      if (m.type !== 'Template') continue;
      const inner = this.defs.get(m.template!);
      if (!inner) throw fail(fn, `options.templates[${describeValue(d.name)}]`, `member ${describeValue(m.name)} names an unknown template ${describeValue(m.template)} (defined: ${[...this.defs.keys()].map((n) => describeValue(n)).join(', ')})`);
      deepest = Math.max(deepest, 1 + this.depth(fn, inner, [...path, d.name]));
    }
    return deepest;
  }

  /** A new instance of a definition, with its default values and the given parameter overrides. */
  private fresh(fn: string, field: string, template: unknown, parameters: unknown, pField: string): State {
    const def = typeof template === 'string' ? this.defs.get(template) : undefined;
    if (!def) throw fail(fn, field, `must name a template of options.templates (${[...this.defs.keys()].map((n) => describeValue(n)).join(', ') || 'none defined'}), got ${describeValue(template)}`);
    if (parameters !== undefined && !isPlain(parameters)) throw fail(fn, pField, `must be an object of values by parameter name, got ${describeValue(parameters)}`);
    for (const k of Object.keys(parameters ?? {})) if (!def.parameters.some((p) => p.name === k)) throw fail(fn, pField, `names ${describeValue(k)}, which is not a parameter of ${describeValue(def.name)}`);
    const params = def.parameters.map((p) => {
      const given = parameters === undefined ? undefined : own(parameters, p.name);
      return given === undefined ? p : { ...p, value: scalar(fn, `${pField}[${describeValue(p.name)}]`, p.type, given, 'INVALID_ARGUMENT') };
    });
    const values = new Map<string, SparkplugScalar | null | State>(def.members.map((m) => [m.name, m.type === 'Template' ? this.fresh(fn, field, m.template, undefined, pField) : (m.value ?? null)]));
    return { def, parameters: params, values };
  }

  /** Checks new member values against an instance (all of them, before any is applied); returns them typed. */
  private check(fn: string, field: string, state: State, values: unknown, code: 'INVALID_ARGUMENT' | 'INVALID_INPUT'): SparkplugTemplateValues {
    if (!isPlain(values)) throw fail(fn, field, `must be an object of member values, got ${describeValue(values)}`, code);
    for (const [k, v] of Object.entries(values)) {
      const member = state.def.members.find((m) => m.name === k);
      const f = `${field}[${describeValue(k)}]`;
      if (!member) throw fail(fn, f, `is not a member of template ${describeValue(state.def.name)} (members: ${state.def.members.map((m) => describeValue(m.name)).join(', ')})`, code);
      if (member.type === 'Template') this.check(fn, f, state.values.get(k) as State, v, code);
      else scalar(fn, f, member.type, v, code);
    }
    return values as SparkplugTemplateValues;
  }

  /** Sets checked values; returns what changed (empty when nothing did). */
  private apply(state: State, values: SparkplugTemplateValues): Changes {
    const changes: Changes = new Map();
    for (const [k, v] of Object.entries(values)) {
      const cur = state.values.get(k);
      if (typeof cur === 'object' && cur !== null) {
        const inner = this.apply(cur as State, v as SparkplugTemplateValues);
        if (inner.size > 0) changes.set(k, inner);
      } else if (cur !== v) {
        state.values.set(k, v as SparkplugScalar | null);
        changes.set(k, true);
      }
    }
    return changes;
  }

  /** NBIRTH metrics: every definition as `_types_/<name>`, is_definition true, no template_ref. */
  definitions(now: number): SparkplugMetric[] {
    return [...this.defs.values()].map((d) => ({ name: `${TYPES}${d.name}`, timestamp: now, type: 'Template', value: { ...(d.version === undefined ? {} : { version: d.version }), isDefinition: true, metrics: d.members.map((m) => (m.type === 'Template' ? { name: m.name, timestamp: now, type: 'Template' as const, value: this.template(this.fresh('', '', m.template, undefined, ''), now, undefined) } : { name: m.name, timestamp: now, type: m.type, value: m.value ?? null })), parameters: d.parameters } }));
  }

  /** DBIRTH metrics of an asset: its instances with every member. */
  births(asset: string, now: number): Array<SparkplugMetric & { name: string }> {
    return [...(this.instances.get(asset) ?? new Map<string, State>())].map(([n, s]) => ({ name: n, timestamp: now, type: 'Template', value: this.template(s, now, undefined) }));
  }

  /** Whether an asset has instances. */
  has(asset: string): boolean {
    return this.instances.has(asset);
  }

  /**
   * Checks and sets member values of an instance; returns the DDATA metric with the changed members only (the
   * instance by name, `template_ref`, `is_definition: false`), or undefined when nothing changed.
   */
  set(fn: string, asset: unknown, instance: unknown, values: unknown, now: number): (SparkplugMetric & { name: string }) | undefined {
    const list = typeof asset === 'string' ? this.instances.get(asset) : undefined;
    if (!list) throw fail(fn, 'asset', `must be an asset with template instances (${[...this.instances.keys()].map((n) => describeValue(n)).join(', ') || 'none declared'}), got ${describeValue(asset)}`, 'INVALID_INPUT');
    const state = typeof instance === 'string' ? list.get(instance) : undefined;
    if (!state) throw fail(fn, 'instance', `must be a template instance of ${describeValue(asset)} (${[...list.keys()].map((n) => describeValue(n)).join(', ')}), got ${describeValue(instance)}`, 'INVALID_INPUT');
    const changes = this.apply(state, this.check(fn, 'values', state, values, 'INVALID_INPUT'));
    return changes.size === 0 ? undefined : { name: instance as string, timestamp: now, type: 'Template', value: this.template(state, now, changes) };
  }

  /** An instance value: all members (births), or only the changed ones (data, no parameters: they did not change). */
  private template(s: State, now: number, only: Changes | undefined): SparkplugTemplate {
    const metrics: SparkplugMetric[] = [];
    for (const m of s.def.members) {
      const change = only?.get(m.name);
      if (only && change === undefined) continue;
      const v = s.values.get(m.name)!;
      metrics.push(m.type === 'Template' ? { name: m.name, timestamp: now, type: 'Template', value: this.template(v as State, now, change === true ? undefined : change) } : { name: m.name, timestamp: now, type: m.type, value: v as SparkplugScalar | null });
    }
    const birth = only === undefined;
    return { ...(birth && s.def.version !== undefined ? { version: s.def.version } : {}), templateRef: s.def.name, isDefinition: false, metrics, ...(birth ? { parameters: s.parameters } : {}) };
  }
}

/** @internal A metric sent late (store-and-forward): historical, with the members of a template too. */
export function historical<M extends SparkplugMetric>(m: M): M {
  if (m.type !== 'Template' || m.value === null || typeof m.value !== 'object') return { ...m, historical: true };
  const t = m.value as SparkplugTemplate;
  return { ...m, historical: true, value: { ...t, metrics: t.metrics.map((x) => historical(x)) } };
}
