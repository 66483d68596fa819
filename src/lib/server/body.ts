import type {IncomingMessage, ServerResponse} from 'node:http'
import {sendJsonRpcError} from './json-reply.ts'

/** Deadlines and sizes of request bodies (finding 4 of issue #14): every endpoint reads through here. */
export const BODY_DEADLINE_MS = 30_000

/** The body could not be read: too large (413) or not complete in time (408). */
export class BodyError extends Error {
  readonly status: 408 | 413
  constructor(status: 408 | 413, message: string) {
    super(message)
    this.name = 'BodyError'
    this.status = status
  }
}

/**
 * The whole body, at most `limitBytes`, within `deadlineMs` of the call. Node's server
 * requestTimeout would end a slow body too, but Bun's node:http (the shipped binary) does not
 * apply it, so the deadline is kept here, where both runtimes honour it.
 */
export function readBodyWithin(req: IncomingMessage, limitBytes: number, deadlineMs = BODY_DEADLINE_MS): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > limitBytes) return Promise.reject(new BodyError(413, `request body larger than ${limitBytes} bytes`))
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (error?: BodyError) => {
      if (done) return
      done = true
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      if (error) {
        // Stop reading; the caller answers and the connection is closed after the answer.
        req.pause()
        reject(error)
      } else resolve(Buffer.concat(chunks))
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limitBytes) return finish(new BodyError(413, `request body larger than ${limitBytes} bytes`))
      chunks.push(chunk)
    }
    const onEnd = () => finish()
    const onError = () => finish(new BodyError(408, 'the request body was not received completely'))
    const timer = setTimeout(() => finish(new BodyError(408, `the request body did not arrive within ${Math.round(deadlineMs / 1000)} s`)), deadlineMs)
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
  })
}

/** A request whose method takes no body must not send one (it would never be read, and could trickle forever). */
export function hasUnexpectedBody(req: IncomingMessage): boolean {
  const method = req.method ?? 'GET'
  if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE' && method !== 'OPTIONS') return false
  return Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined
}

/**
 * A JSON-RPC request body read and parsed, or `{ok: false}` after answering the error (413/408 for
 * the size or deadline, 400 Parse error for invalid JSON) on `res`.
 */
export async function readJsonRpcBody(req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<{ok: true; body: unknown} | {ok: false}> {
  let raw: Buffer
  try {
    raw = await readBodyWithin(req, limitBytes)
  } catch (error) {
    if (!(error instanceof BodyError)) throw error
    sendJsonRpcError(res, error.status, -32600, `Request refused: ${error.message}`, {connection: 'close'})
    return {ok: false}
  }
  try {
    return {ok: true, body: JSON.parse(raw.toString('utf8'))}
  } catch (error) {
    sendJsonRpcError(res, 400, -32700, `Parse error: the request body is not valid JSON (${(error as Error).message})`)
    return {ok: false}
  }
}
