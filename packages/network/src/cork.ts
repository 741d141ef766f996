/**
 * One system call per event-loop turn on each TCP connection instead of one per buffer. libp2p's TCP
 * connection writes every buffer of a send list with its own `socket.write`, and noise sends each message as
 * two buffers (length prefix, ciphertext), so every yamux frame cost two `write` system calls: measured as ~7 %
 * of a validator's CPU on the request path and most of an idle node's wake-ups. This corks the socket on the
 * first send of a turn and uncorks it on the next tick (Node's documented idiom), so all of a turn's frames
 * leave in one `writev`. Back-pressure is unchanged (`write` still reports a full buffer; 'drain' still
 * follows). It reaches one internal of libp2p's TCP connection (`maConn.socket`, `maConn.sendData`): when that
 * shape is not there (WebSockets, another transport, a libp2p that changed), the connection is left alone.
 */
import { Socket } from 'node:net';
import type { Connection } from '@libp2p/interface';

interface TcpMaConn {
  socket?: unknown;
  sendData?: (data: unknown) => unknown;
}

const CORKED = Symbol('subnet.corked');

/** Coalesces `connection`'s writes per event-loop turn; false when it is not a TCP connection this knows. */
export function corkConnection(connection: Connection): boolean {
  const maConn = (connection as unknown as { maConn?: TcpMaConn & { [CORKED]?: true } }).maConn;
  const socket = maConn?.socket;
  if (maConn === undefined || !(socket instanceof Socket) || typeof maConn.sendData !== 'function')
    return false;
  if (maConn[CORKED] === true) return true;
  maConn[CORKED] = true;
  const send = maConn.sendData.bind(maConn);
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  maConn.sendData = (data: unknown) => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return send(data);
  };
  return true;
}
