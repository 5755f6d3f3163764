// A strict reader of Prometheus' text exposition format (0.0.4), written from the format's description, independent
// of the code under test: every line is a HELP, a TYPE or a sample of a family whose TYPE came first.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseLabels(text: string, where: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let s = text.slice(1); // after '{'
  for (;;) {
    if (s.startsWith('}')) return { labels, rest: s.slice(1) };
    const m = LABEL.exec(s);
    if (!m) throw new Error(`${where}: bad label name at '${s.slice(0, 20)}'`);
    const key = m[0];
    s = s.slice(key.length);
    if (!s.startsWith('="')) throw new Error(`${where}: expected =" after ${key}`);
    s = s.slice(2);
    let value = '';
    for (;;) {
      const c = s[0];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[1];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`${where}: bad escape \\${String(e)}`);
        s = s.slice(2);
      } else {
        if (c === '\n') throw new Error(`${where}: raw newline in a label value`);
        value += c;
        s = s.slice(1);
      }
    }
    s = s.slice(1);
    if (key in labels) throw new Error(`${where}: label ${key} repeated`);
    labels[key] = value;
    if (s.startsWith(',')) s = s.slice(1);
    else if (!s.startsWith('}')) throw new Error(`${where}: expected , or } after a label`);
  }
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      if (!NAME.test(name!) || help.has(name!)) throw new Error(`${where}: bad or repeated HELP`);
      help.set(name!, rest.join(' '));
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, extra] = line.slice(7).split(' ');
      if (!NAME.test(name!) || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!) || extra !== undefined || types.has(name!)) throw new Error(`${where}: bad TYPE '${line}'`);
      types.set(name!, type!);
      return;
    }
    if (line.startsWith('#') || line.trim() === '') throw new Error(`${where}: unexpected comment or blank line`);
    const m = NAME.exec(line);
    if (!m) throw new Error(`${where}: bad metric name`);
    const name = m[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, where));
    if (!rest.startsWith(' ')) throw new Error(`${where}: expected a space before the value`);
    const value = Number(rest.slice(1));
    if (rest.slice(1).trim() === '' || Number.isNaN(value)) throw new Error(`${where}: bad value '${rest.slice(1)}'`);
    if (!types.has(name)) throw new Error(`${where}: sample of ${name} before its TYPE`);
    if (types.get(name) === 'counter' && !(value >= 0)) throw new Error(`${where}: negative counter`);
    samples.push({ name, labels, value });
  });
  return { types, help, samples };
}

export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  return e.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}
