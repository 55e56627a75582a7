import type { Readable } from 'node:stream';
import { request } from 'undici';
import { expect } from 'vitest';
import { whapiValidator } from '../support/whapi.js';

/** An answer as it came off the wire: status, headers, text and (when JSON) the parsed body. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

export interface RawRequest {
  method: string;
  path: string;
  token?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array | Readable;
}

/**
 * Sends exactly what it is given: any method, a body on any method, bytes that are not JSON.
 * The test client in support/http.ts cannot send malformed input; this one exists for that.
 */
export async function raw(baseUrl: string, req: RawRequest): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...req.headers };
  if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
  const res = await request(`${baseUrl}${req.path}`, { method: req.method as 'GET', headers, body: req.body });
  const text = await res.body.text();
  let json: unknown = undefined;
  if (String(res.headers['content-type'] ?? '').includes('json') && text) json = JSON.parse(text);
  return { status: res.statusCode, headers: res.headers, text, json };
}

const whapiError = whapiValidator('ResponseError');

/** Whether a body is Whapi's error shape with `code` equal to the HTTP status; answers the problem or null. */
export function errorShapeProblem(answer: RawAnswer): string | null {
  if (!String(answer.headers['content-type'] ?? '').includes('application/json')) return `content-type is ${String(answer.headers['content-type'])}`;
  const body = answer.json as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined;
  if (!whapiError(body)) return `not Whapi's ResponseError: ${JSON.stringify(whapiError.errors)} in ${answer.text.slice(0, 200)}`;
  if (body?.error?.code !== answer.status) return `error.code ${String(body?.error?.code)} differs from HTTP ${answer.status}`;
  if (typeof body.error.message !== 'string' || body.error.message === '') return 'error.message is empty';
  return null;
}

/** Asserts an answer is an error of `status` in Whapi's shape, with details saying what was wrong. */
export function expectError(answer: RawAnswer, status: number): { code: number; message: string; details: string } {
  expect(answer.status, answer.text).toBe(status);
  expect(errorShapeProblem(answer)).toBeNull();
  const error = (answer.json as { error: { code: number; message: string; details: string } }).error;
  expect(typeof error.details, `details in ${answer.text}`).toBe('string');
  expect(error.details.length).toBeGreaterThan(0);
  return error;
}
