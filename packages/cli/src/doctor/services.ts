// No @lepton/core here: the doctor command validates its flags with this before loading TensorFlow.js.

/** The services the doctor can reach, with their environment variable, flag, URL schemes and an example. */
export const SERVICES = {
  redis: { env: 'LEPTON_REDIS_URL', schemes: ['redis:', 'rediss:'], example: 'redis://127.0.0.1:6379' },
  mqtt: { env: 'LEPTON_MQTT_URL', schemes: ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:'], example: 'mqtt://127.0.0.1:1883' },
  dicomweb: { env: 'LEPTON_DICOMWEB_URL', schemes: ['http:', 'https:'], example: 'http://127.0.0.1:8042/dicom-web' },
} as const;

/** Which of {@link SERVICES}. */
export type ServiceName = keyof typeof SERVICES;

/**
 * Parses a service URL and checks its scheme. Never puts the text itself into the message: a malformed URL may still
 * hold a password.
 *
 * @returns the URL, or a message saying what is wrong with it
 */
export function parseServiceUrl(name: ServiceName, text: string): URL | string {
  const spec = SERVICES[name];
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return `is not a URL (expected e.g. ${spec.example})`;
  }
  if (!(spec.schemes as readonly string[]).includes(url.protocol)) {
    return `has scheme '${url.protocol}', expected ${spec.schemes.map((s) => `${s}//`).join(' or ')} (e.g. ${spec.example})`;
  }
  if (url.hostname === '') return `names no host (expected e.g. ${spec.example})`;
  // The checks decode the user name and password (decodeURIComponent): a malformed escape ('p%ZZ') would otherwise throw
  // a raw URIError mid-report. Refused here instead, without quoting them.
  if (decodeCredential(url.username) === null || decodeCredential(url.password) === null) {
    return "has a malformed percent-encoding in its user name or password (write a literal '%' as %25)";
  }
  return url;
}

/**
 * A URL's percent-encoded user name or password, decoded; null when its percent-encoding is malformed.
 *
 * @param text - `url.username` or `url.password`
 * @returns the decoded text, or null
 */
export function decodeCredential(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
