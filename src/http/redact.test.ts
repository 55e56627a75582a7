import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.js';

describe('redactUrl', () => {
  it('hides credential parameters however their names are encoded, and keeps the rest', () => {
    expect(redactUrl('/health?token=abc&wakeup=false')).toBe('/health?token=[redacted]&wakeup=false');
    expect(redactUrl('/health?%74oken=abc')).toBe('/health?%74oken=[redacted]');
    expect(redactUrl('/health?%74%6F%6b%65%6E=abc')).toBe('/health?%74%6F%6b%65%6E=[redacted]');
    expect(redactUrl('/x?a=1&Token=abc&token&ticket=t%')).toBe('/x?a=1&Token=[redacted]&token=[redacted]&ticket=[redacted]');
    expect(redactUrl('/x?%zztoken=abc&tok%65n%=1')).toBe('/x?%zztoken=abc&tok%65n%=1');
    expect(redactUrl('/livez')).toBe('/livez');
  });
});
