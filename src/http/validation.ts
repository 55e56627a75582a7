import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { CHANNEL_ID_PATTERN } from '../channel/tokens.js';
import { CHAT_ID_PATTERN, MESSAGE_ID_PATTERN, TO_PATTERN, WEBHOOK_SECRET_PATTERN } from '@wagate/protocol';

/** What each pattern means, for error messages: a regular expression is no help to a caller. */
const PATTERN_HINTS: Record<string, string> = {
  [TO_PATTERN]: 'a phone number or a chat id, e.g. 61371989950 or 61371989950@s.whatsapp.net',
  [CHAT_ID_PATTERN]: 'a chat id, e.g. 61371989950@s.whatsapp.net',
  [MESSAGE_ID_PATTERN]: 'a message id, as answered by a send',
  [CHANNEL_ID_PATTERN]: 'a channel id, e.g. MANTIS-M72HC',
  [WEBHOOK_SECRET_PATTERN]: 'a signing secret: whsec_ followed by base64',
  '^\\d{7,15}$': 'a phone number of 7 to 15 digits',
};

/**
 * Two validators: query strings, params and headers arrive as text and are coerced to the
 * declared types; JSON bodies are checked as sent, so `"count": "5"` is a wrong type, not a 5.
 * Neither removes unknown properties: a schema that forbids them answers 400.
 */
const coercing = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false, strictNumbers: true });
const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: true, strict: false, strictNumbers: true });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  if (httpPart === 'body') return strict.compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
  const validate = coercing.compile(schema);
  // Ajv coerces "1e400" to Infinity and then lets it through integer and maximum checks.
  return ((data: Record<string, unknown>) => {
    if (!validate(data)) return { error: validationError(validate.errors ?? []) };
    const infinite = infiniteField(data);
    if (infinite !== null) return { error: validationError([{ instancePath: `/${infinite}`, keyword: 'type', message: 'must be a finite number', params: {}, schemaPath: '' }]) };
    return { value: data };
  }) as ReturnType<FastifySchemaCompiler<object>>;
};

/** The first field holding an infinite number, if any (a loop, not entries(): every gate request's query passes here). */
function infiniteField(data: Record<string, unknown> | undefined): string | null {
  for (const key in data) {
    const v = data[key];
    if (typeof v === 'number' && !Number.isFinite(v)) return key;
  }
  return null;
}

function validationError(errs: ErrorObject[]): Error {
  return Object.assign(new Error('validation failed'), { validation: errs });
}

/**
 * Human-readable problems, each naming the field and, for a closed set, the allowed values:
 * `body.engine: must be one of "sandbox", "baileys"`. A union of literals fails once per member
 * in Ajv; those failures are folded into one line, and a pattern is described, never shown.
 */
export function describeValidation(part: string, errs: ErrorObject[]): string {
  const allowed = new Map<string, unknown[]>();
  for (const e of errs) if (e.keyword === 'const') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), e.params.allowedValue]);
  const lines: string[] = [];
  for (const e of errs) {
    const line = describeOne(part, e, allowed);
    if (line !== null && !lines.includes(line)) lines.push(line);
  }
  return lines.slice(0, 5).join('; ');
}

function describeOne(part: string, e: ErrorObject, allowed: Map<string, unknown[]>): string | null {
  const path = pathOf(part, e);
  const values = allowed.get(e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${path}: unknown field "${String(e.params.additionalProperty)}"`;
    case 'required':
      return `${path}: missing required field "${String(e.params.missingProperty)}"`;
    case 'const':
    case 'anyOf':
      // The anyOf line says only "must match a schema in anyOf": the consts name the choices.
      if (values) return `${path}: must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
      return e.keyword === 'anyOf' ? `${path}: matches none of the accepted shapes` : `${path}: must be ${JSON.stringify(e.params.allowedValue)}`;
    case 'enum':
      return `${path}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern': {
      const hint = PATTERN_HINTS[String(e.params.pattern)];
      return `${path}: ${hint ? `must be ${hint}` : 'is not in the expected format'}`;
    }
    default:
      return `${path}: ${e.message ?? 'is invalid'}`;
  }
}

function pathOf(part: string, e: ErrorObject): string {
  const segments = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`));
  return `${part}${segments.join('')}`;
}
