import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

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
    const infinite = Object.entries(data ?? {}).find(([, v]) => typeof v === 'number' && !Number.isFinite(v));
    if (infinite) return { error: validationError([{ instancePath: `/${infinite[0]}`, keyword: 'type', message: 'must be a finite number', params: {}, schemaPath: '' }]) };
    return { value: data };
  }) as ReturnType<FastifySchemaCompiler<object>>;
};

function validationError(errs: ErrorObject[]): Error {
  return Object.assign(new Error('validation failed'), { validation: errs });
}

/** Human-readable problems, each naming the field: `body.webhooks[0].url: must be string`. */
export function describeValidation(part: string, errs: ErrorObject[]): string {
  return errs
    .slice(0, 5)
    .map((e) => {
      const path = pathOf(part, e);
      if (e.keyword === 'additionalProperties') return `${path}: unknown field "${String(e.params.additionalProperty)}"`;
      if (e.keyword === 'required') return `${path}: missing required field "${String(e.params.missingProperty)}"`;
      return `${path}: ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

function pathOf(part: string, e: ErrorObject): string {
  const segments = e.instancePath.split('/').slice(1).map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`));
  return `${part}${segments.join('')}`;
}
