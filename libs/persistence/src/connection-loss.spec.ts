import { describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import {
  DatabaseUnavailableError,
  describeDatabaseError,
  isConnectionLoss,
} from './connection-loss.js';

/** An error shaped as pg's DatabaseError is: a server message with its SQLSTATE. */
function serverError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

/** A socket error as Node raises it. */
function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, syscall: 'connect' });
}

describe('isConnectionLoss', () => {
  it('recognises the server going away or not taking connections yet', () => {
    const lost = [
      serverError('57P01', 'terminating connection due to administrator command'),
      serverError('57P02', 'terminating connection because of crash of another server process'),
      serverError('57P03', 'the database system is starting up'),
      serverError('53300', 'sorry, too many clients already'),
      serverError('08006', 'connection failure'),
      serverError('08P01', 'protocol violation'),
    ];
    expect(lost.filter((error) => !isConnectionLoss(error))).toEqual([]);
  });

  it('recognises a refused, reset or unreachable socket', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']) {
      expect(isConnectionLoss(socketError(code, `connect ${code} 127.0.0.1:5432`))).toBe(true);
    }
  });

  it('recognises pg’s and pg-pool’s own words for a lost connection', () => {
    const words = [
      'Connection terminated unexpectedly',
      'Connection terminated',
      'Connection terminated due to connection timeout',
      'Client has encountered a connection error and is not queryable',
      'timeout exceeded when trying to connect',
    ];
    expect(words.filter((message) => !isConnectionLoss(new Error(message)))).toEqual([]);
  });

  it('looks inside TypeORM’s QueryFailedError', () => {
    const wrapped = new QueryFailedError(
      'INSERT INTO messages VALUES ($1)',
      ['secret'],
      serverError('57P01', 'terminating connection due to administrator command'),
    );
    expect(isConnectionLoss(wrapped)).toBe(true);
    const refused = new QueryFailedError(
      'SELECT 1',
      [],
      serverError('23505', 'duplicate key value violates unique constraint "messages_pkey"'),
    );
    expect(isConnectionLoss(refused)).toBe(false);
  });

  it('counts an AggregateError only when every attempt failed to connect', () => {
    const refused = socketError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432');
    expect(isConnectionLoss(new AggregateError([refused, refused]))).toBe(true);
    expect(isConnectionLoss(new AggregateError([refused, new Error('bad')]))).toBe(false);
  });

  it('leaves every other failure to be what it is', () => {
    const others = [
      serverError('23505', 'duplicate key value violates unique constraint'),
      serverError('42601', 'syntax error at or near "SELEC"'),
      serverError('40001', 'could not serialize access due to concurrent update'),
      serverError('57014', 'canceling statement due to statement timeout'),
      socketError('ENOENT', 'no such file'),
      new Error('invalid tenant id'),
      new TypeError('x is not a function'),
      'Connection terminated',
      null,
      undefined,
    ];
    expect(others.filter((error) => isConnectionLoss(error))).toEqual([]);
  });

  it('counts its own error, so a translated failure stays one', () => {
    expect(isConnectionLoss(new DatabaseUnavailableError())).toBe(true);
  });
});

describe('DatabaseUnavailableError', () => {
  it('is the retryable UNAVAILABLE error, saying what to do and nothing of the database', () => {
    const error = new DatabaseUnavailableError();
    expect(error).toMatchObject({ kind: 'unavailable', code: 'UNAVAILABLE' });
    expect(error.message).toBe('The database is unavailable right now; retry in a few seconds.');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('describeDatabaseError', () => {
  it('gives the code and the server’s sentence, never the statement or its parameters', () => {
    const wrapped = new QueryFailedError(
      'INSERT INTO messages (body) VALUES ($1)',
      ['a secret body'],
      serverError('57P01', 'terminating connection due to administrator command'),
    );
    const said = describeDatabaseError(wrapped);
    expect(said).toBe('57P01: terminating connection due to administrator command');
    expect(said).not.toMatch(/INSERT|secret/);
  });

  it('gives only the code of a socket error, not the address it names', () => {
    const said = describeDatabaseError(
      socketError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:5432'),
    );
    expect(said).toBe('ECONNREFUSED');
    expect(describeDatabaseError(new AggregateError([socketError('ECONNREFUSED', 'x')]))).toBe(
      'ECONNREFUSED',
    );
  });

  it('gives pg’s message when there is no code', () => {
    expect(describeDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(
      'Connection terminated unexpectedly',
    );
  });
});
