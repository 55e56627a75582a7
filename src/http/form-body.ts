import type { TObject, TSchema } from '@sinclair/typebox';
import type { FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import { errors } from '@wagate/protocol';

/** A file part of a `multipart/form-data` body, held until the route resolves it. */
export interface FormFile {
  bytes: Buffer;
  fileName?: string;
  mimeType: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    formFile?: FormFile;
  }
}

/** The value a form's file part leaves in its field: the route takes the bytes from `req.formFile`. */
export const FORM_FILE_PREFIX = 'form-file:';

/**
 * Reads a `multipart/form-data` body (Whapi declares one beside JSON for every send) into the
 * object the route's JSON schema validates: text fields are read by the schema's types (`true`,
 * `5`, `["a","b"]` or a repeated field), and at most one file part, of at most `maxFileBytes`, is
 * kept aside in `req.formFile`. JSON bodies pass untouched.
 */
export function formBody(schema: TObject, maxFileBytes: number): preValidationAsyncHookHandler {
  return async (req: FastifyRequest) => {
    if (!req.isMultipart()) return;
    const fields: Record<string, string[]> = {};
    for await (const part of req.parts({ limits: { fileSize: maxFileBytes, files: 1, fields: 100 } })) {
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        req.formFile = { bytes, fileName: part.filename || undefined, mimeType: part.mimetype };
        (fields[part.fieldname] ??= []).push(`${FORM_FILE_PREFIX}${part.filename ?? ''}`);
      } else {
        (fields[part.fieldname] ??= []).push(String(part.value));
      }
    }
    req.body = Object.fromEntries(Object.entries(fields).map(([name, values]) => [name, fieldValue(schema.properties[name], values)]));
  };
}

function fieldValue(schema: TSchema | undefined, values: string[]): unknown {
  const type = schema?.type as string | undefined;
  const one = values[values.length - 1]!;
  switch (type) {
    case 'boolean':
      return one === 'true' ? true : one === 'false' ? false : one;
    case 'number':
    case 'integer':
      return one.trim() !== '' && Number.isFinite(Number(one)) ? Number(one) : one;
    case 'array':
      if (values.length === 1 && one.startsWith('[')) return parseJson(one);
      return values.flatMap((v) => v.split(',').map((x) => x.trim()).filter(Boolean));
    case 'object':
      return parseJson(one);
    default:
      return one;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw errors.badRequest(`malformed JSON in a form field: ${text.slice(0, 40)}`);
  }
}
