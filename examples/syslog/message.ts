// Syslog messages as they arrive in a datagram: RFC 5424 ("<PRI>1 TIMESTAMP HOST APP PROCID
// MSGID [SD] MSG") and the older BSD format of RFC 3164 ("<PRI>Mmm dd hh:mm:ss HOST TAG[PID]:
// MSG", which local senders such as `logger -u` send without HOST). A pure function over the
// bytes, so every odd case is tested without a socket.

export const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'security', 'console', 'solaris-cron', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5',
  'local6', 'local7',
] as const;
export const SEVERITIES = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

export interface SyslogMessage {
  format: 'rfc5424' | 'rfc3164';
  facility: string;
  severity: string;
  /** As sent (RFC 5424: RFC 3339; RFC 3164: "Mmm dd hh:mm:ss"); null when absent. */
  timestamp: string | null;
  hostname: string | null;
  appName: string | null;
  procId: string | null;
  msgId: string | null;
  /** RFC 5424's STRUCTURED-DATA, as sent ("[id k=\"v\"]..."); null for "-" or RFC 3164. */
  structuredData: string | null;
  message: string;
}

const BOM = '\ufeff';
const BSD_TIMESTAMP = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d /;
// A BSD tag: letters, digits and a few marks, optionally [pid], then a colon.
const BSD_TAG = /^([^\s:[\]]{1,48})(?:\[([^\]\s]{1,32})\])?:(?: |$)/;

const nil = (field: string | undefined): string | null => (field === undefined || field === '-' ? null : field);

/**
 * Parses one datagram. A message without a valid <PRI> is kept whole as user.notice, as RFC
 * 3164 section 4.3.3 asks of a relay.
 */
export function parseSyslog(data: Buffer): SyslogMessage {
  let text = data.toString('utf8');
  let pri = 13;
  const m = /^<(\d{1,3})>/.exec(text);
  if (m !== null && Number(m[1]) <= 191) {
    pri = Number(m[1]);
    text = text.slice(m[0].length);
  } else {
    return bsd(pri, text, false);
  }
  if (text.startsWith('1 ')) return rfc5424(pri, text.slice(2));
  return bsd(pri, text, true);
}

function base(pri: number, format: SyslogMessage['format']): SyslogMessage {
  return {
    format, facility: FACILITIES[pri >> 3], severity: SEVERITIES[pri & 7], timestamp: null, hostname: null,
    appName: null, procId: null, msgId: null, structuredData: null, message: '',
  };
}

function rfc5424(pri: number, rest: string): SyslogMessage {
  const msg = base(pri, 'rfc5424');
  const fields: string[] = [];
  let at = 0;
  for (let i = 0; i < 5; i++) {
    const space = rest.indexOf(' ', at);
    fields.push(space < 0 ? rest.slice(at) : rest.slice(at, space));
    at = space < 0 ? rest.length : space + 1;
  }
  [msg.timestamp, msg.hostname, msg.appName, msg.procId, msg.msgId] = fields.map(nil);
  rest = rest.slice(at);
  if (rest.startsWith('[')) {
    const end = structuredDataEnd(rest);
    msg.structuredData = rest.slice(0, end);
    rest = rest.slice(end);
  } else if (rest.startsWith('-')) {
    rest = rest.slice(1);
  }
  if (rest.startsWith(' ')) rest = rest.slice(1);
  msg.message = rest.startsWith(BOM) ? rest.slice(1) : rest;
  return msg;
}

// Where the SD-ELEMENTs end: brackets inside quoted values (escaped \] \" \\) do not count.
function structuredDataEnd(s: string): number {
  let i = 0;
  while (s[i] === '[') {
    let quoted = false;
    for (i++; i < s.length; i++) {
      const c = s[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (c === ']' && !quoted) break;
    }
    i++;
  }
  return Math.min(i, s.length);
}

function bsd(pri: number, rest: string, hadPri: boolean): SyslogMessage {
  const msg = base(pri, 'rfc3164');
  if (!hadPri) {
    msg.message = rest;
    return msg;
  }
  const ts = BSD_TIMESTAMP.exec(rest);
  if (ts !== null) {
    msg.timestamp = ts[0].slice(0, -1);
    rest = rest.slice(ts[0].length);
  }
  // HOST is there unless the first word is already the tag (local senders leave HOST out).
  if (BSD_TAG.exec(rest) === null) {
    const space = rest.indexOf(' ');
    if (space > 0) {
      msg.hostname = rest.slice(0, space);
      rest = rest.slice(space + 1);
    }
  }
  const tag = BSD_TAG.exec(rest);
  if (tag !== null) {
    msg.appName = tag[1];
    msg.procId = tag[2] ?? null;
    rest = rest.slice(tag[0].length);
  }
  msg.message = rest;
  return msg;
}

// C0 controls and DEL would let a sender forge lines or drive a terminal: written as \xNN.
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f]/g;
const escape = (s: string): string => s.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export interface Received {
  message: SyslogMessage;
  /** When it arrived (ISO 8601). */
  receivedAt: string;
  /** The sender, "host:port" or a socket path; null for an unnamed AF_UNIX sender. */
  from: string | null;
  /** The datagram was longer than the receive size (MSG_TRUNC): its end is lost. */
  truncated: boolean;
}

/** One line of text: "TIMESTAMP HOST facility.severity TAG: [SD] MESSAGE". */
export function formatText(r: Received): string {
  const m = r.message;
  const tag = `${m.appName ?? '-'}${m.procId !== null ? `[${m.procId}]` : ''}${m.msgId !== null ? ` ${m.msgId}` : ''}`;
  const parts = [
    m.timestamp ?? r.receivedAt, m.hostname ?? r.from ?? '-', `${m.facility}.${m.severity}`, `${tag}:`,
  ];
  if (m.structuredData !== null) parts.push(m.structuredData);
  parts.push(m.message);
  return escape(parts.join(' ')) + (r.truncated ? ' [truncated]' : '');
}

/** One line of JSON (JSON.stringify escapes the controls). */
export function formatJson(r: Received): string {
  return JSON.stringify({ receivedAt: r.receivedAt, from: r.from, truncated: r.truncated, ...r.message });
}
