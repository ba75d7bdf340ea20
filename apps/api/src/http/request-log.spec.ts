import { describe, expect, it } from '@jest/globals';
import { RequestLog, formatRequest, pathOf } from './request-log.js';

const RECORD = {
  method: 'GET',
  path: '/api/v1/channels',
  status: 200,
  durationMs: 12.345,
  tenantId: 'ten_acme',
  aborted: false,
};

describe('the request log', () => {
  it('writes method, path, status, duration and tenant on one line', () => {
    expect(formatRequest(RECORD)).toBe('GET /api/v1/channels 200 12.3ms tenant=ten_acme');
    expect(formatRequest({ ...RECORD, tenantId: null })).toBe('GET /api/v1/channels 200 12.3ms');
    expect(formatRequest({ ...RECORD, status: null, aborted: true })).toBe(
      'GET /api/v1/channels - 12.3ms tenant=ten_acme aborted',
    );
  });

  it('keeps the path and drops the query string and fragment', () => {
    expect(pathOf('/api/v1/channels/chn_1/messages?member_token=rejoin_x&cursor=3')).toBe(
      '/api/v1/channels/chn_1/messages',
    );
    expect(pathOf('/oauth/authorize#x?y')).toBe('/oauth/authorize');
    expect(pathOf(undefined)).toBe('/');
    expect(pathOf(`/${'a'.repeat(600)}`)).toHaveLength(513);
  });

  it('sends the health probes to the debug level', () => {
    const lines: string[] = [];
    const log = new RequestLog({
      log: (line) => void lines.push(`log ${line}`),
      debug: (line) => void lines.push(`debug ${line}`),
    });
    log.record({ ...RECORD, path: '/readyz', tenantId: null });
    log.record({ ...RECORD, path: '/healthz', tenantId: null });
    log.record(RECORD);
    expect(lines).toEqual([
      'debug GET /readyz 200 12.3ms',
      'debug GET /healthz 200 12.3ms',
      'log GET /api/v1/channels 200 12.3ms tenant=ten_acme',
    ]);
  });
});
