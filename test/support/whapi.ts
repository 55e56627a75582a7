import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/** Whapi.Cloud's own OpenAPI description, loaded from ../shared (never copied into the repo). */
export const WHAPI_OPENAPI_PATH = resolve(import.meta.dirname, '../../../shared/whapi/openapi.yaml');

interface OpenApiDoc {
  paths: Record<string, Record<string, { parameters?: Array<{ $ref?: string; name?: string; in?: string; required?: boolean }> }>>;
  components: { schemas: Record<string, Record<string, unknown>>; parameters: Record<string, { name: string; in: string; required?: boolean }> };
}

let doc: OpenApiDoc | null = null;

/** The parsed document. */
export function whapiDoc(): OpenApiDoc {
  doc ??= parse(readFileSync(WHAPI_OPENAPI_PATH, 'utf8')) as OpenApiDoc;
  return doc;
}

/**
 * A validator for one of Whapi's component schemas. `extraStatusTexts` widens the
 * ChannelStatus enum (SPEC §1: STOP is missing from Whapi's file).
 */
export function whapiValidator(name: string, opts: { extraStatusTexts?: string[] } = {}): ValidateFunction {
  const components = structuredClone(whapiDoc().components);
  if (opts.extraStatusTexts) {
    const text = (components.schemas.ChannelStatus as { properties: { text: { enum: string[] } } }).properties.text;
    text.enum = [...text.enum, ...opts.extraStatusTexts];
  }
  // Whapi's ResponseSuccess requires `result`, a property it never declares and that its own
  // answers (`{"success":true}`) lack: the check drops that line of the document.
  delete (components.schemas.ResponseSuccess as { required?: string[] }).required;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'whapi', components });
  const validate = ajv.getSchema(`whapi#/components/schemas/${name}`);
  if (!validate) throw new Error(`Whapi's OpenAPI has no schema ${name}`);
  return validate;
}
