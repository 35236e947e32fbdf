/**
 * Where a server compressor lives, for the privacy rule: a compressor receives raw document
 * text, so without asking only a loopback address may be one (127.0.0.0/8, ::1, localhost and
 * *.localhost). Any other host needs the user's explicit confirmation naming it.
 */
import { InvalidArgumentError } from './errors';

export interface BaseUrl {
  protocol: 'http:' | 'https:';
  /** Without brackets for IPv6. */
  hostname: string;
  /** hostname[:port] as written (IPv6 in brackets). */
  host: string;
  /** protocol + '//' + host */
  origin: string;
  /** Path without query or fragment ('' or '/...'). */
  pathname: string;
}

/**
 * Where a server's paths hang: its origin plus any path prefix, without a trailing slash or a
 * final `/v1` (an OpenAI-style base URL), and its host[:port]. The server engine and the
 * generate-only compressor both add `/v1/...` or native paths to `root`.
 */
export function serverRoot(baseURL: string): { root: string; host: string } {
  const url = parseBaseUrl(baseURL);
  return { root: `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`, host: url.host };
}

/** Parse a server base URL (http or https only), or throw InvalidArgumentError. */
export function parseBaseUrl(baseURL: string): BaseUrl {
  const m = /^(https?):\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#@\s]+)(?::(\d{1,5}))?(\/[^?#\s]*)?(?:[?#]\S*)?$/i.exec(baseURL.trim());
  if (!m) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(baseURL.trim()) && !/^https?:/i.test(baseURL.trim())) {
      throw new InvalidArgumentError(`The server address must start with http:// or https:// (got "${baseURL}").`);
    }
    throw new InvalidArgumentError(`"${baseURL}" is not a server address; give one like http://127.0.0.1:8000.`);
  }
  const protocol = `${m[1].toLowerCase()}:` as 'http:' | 'https:';
  const hostname = m[2].toLowerCase().replace(/^\[|\]$/g, '');
  const host = m[2].toLowerCase() + (m[3] ? `:${m[3]}` : '');
  return { protocol, hostname, host, origin: `${protocol}//${host}`, pathname: m[4] ?? '' };
}

/** host[:port] of a base URL, as shown to the user. */
export function hostOf(baseURL: string): string {
  return parseBaseUrl(baseURL).host;
}

/** True for addresses that never leave this device. */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (m) return Number(m[1]) === 127 && m.slice(1).every((p) => Number(p) <= 255);
  const mapped = /^::ffff:(\d{1,3})\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.exec(h);
  return mapped !== null && Number(mapped[1]) === 127;
}

export function isLoopbackUrl(baseURL: string): boolean {
  return isLoopbackHostname(parseBaseUrl(baseURL).hostname);
}

/** Private (RFC 1918, link-local, unique-local) addresses: the local network, not the internet. */
export function isPrivateNetworkHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const m = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(h);
  if (m) {
    const [a, b] = [Number(m[1]), Number(m[2])];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  return h.endsWith('.local') || /^f[cd][0-9a-f]{2}:/.test(h) || h.startsWith('fe80:');
}
