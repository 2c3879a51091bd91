'use strict';
// Preload (`node -r ./loopback.js`) that keeps the CaféX SDK on this machine.
//
// The SDK always speaks https on the default port, and drops the port from the
// URLs it builds for posting events and setting the visitor name. parley's test
// server is plain http on 127.0.0.1:$PARLEY_PORT, so every http(s) request of this
// process is re-aimed there. A request for any host other than loopback is refused
// (thrown) before a socket or a DNS lookup exists: the network here is loopback-only
// and nothing may ever be sent elsewhere.
const http = require('http');
const https = require('https');
const net = require('net');

const PORT = Number(process.env.PARLEY_PORT);
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535) {
  throw new Error(`loopback.js: PARLEY_PORT must be a TCP port, got ${JSON.stringify(process.env.PARLEY_PORT)}`);
}
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

// What drive.js reads: proof that the guard is loaded, and a short request log so a
// failure can say which request went wrong and what parley answered.
const state = { port: PORT, log: [] };
globalThis[Symbol.for('parley.loopback')] = state;

function bareHost(value) {
  // The SDK hands the Domain API's baseURI ("host:port") over as a hostname.
  let host = String(value === undefined || value === null || value === '' ? 'localhost' : value).toLowerCase();
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const parts = host.split(':');
  return parts.length === 2 ? parts[0] : host;
}

function requireLoopback(host, what) {
  if (!LOOPBACK.has(bareHost(host))) {
    throw new Error(`loopback.js: refused ${what} to non-loopback host ${JSON.stringify(host)}`);
  }
}

// http(s).request/get take (url[, options][, cb]) or (options[, cb]).
function splitArgs(args) {
  const [first, second, third] = args;
  if (typeof first === 'string' || first instanceof URL) {
    const u = new URL(first);
    const opts = { hostname: u.hostname, path: u.pathname + u.search };
    if (typeof second === 'function') return [opts, second];
    return [Object.assign(opts, second), third];
  }
  return [Object.assign({}, first), second];
}

function redirect(send) {
  return function (...args) {
    const [opts, cb] = splitArgs(args);
    const method = String(opts.method || 'GET').toUpperCase();
    const what = `${method} ${opts.path || '/'}`;
    requireLoopback(opts.hostname || opts.host, what);
    // An https Agent or TLS options would not fit a plain-http request.
    for (const key of ['host', 'agent', 'protocol', 'ca', 'rejectUnauthorized', 'servername']) delete opts[key];
    const req = send(Object.assign(opts, { hostname: '127.0.0.1', port: PORT }), cb);
    const entry = { request: what, status: null, body: '' };
    state.log.push(entry);
    req.once('response', (res) => {
      entry.status = res.statusCode;
      entry.location = res.headers.location;
      res.on('data', (chunk) => {
        if (entry.body.length < 2000) entry.body += chunk.toString();
      });
    });
    req.once('error', (err) => { entry.error = err.message; });
    return req;
  };
}

// http.get/https.get call their module's own request function, so all four are replaced.
const httpRequest = http.request;
const httpGet = http.get;
http.request = redirect(httpRequest);
http.get = redirect(httpGet);
https.request = redirect(httpRequest);
https.get = redirect(httpGet);

// Backstop below http: any TCP connection to a non-loopback host fails too.
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  // Node's own callers pass one pre-normalised [options, cb] array.
  const list = Array.isArray(args[0]) ? args[0] : args;
  const target = list[0];
  if (target !== null && typeof target === 'object') {
    if (!target.path) requireLoopback(target.host, 'socket connect');
  } else if (typeof target === 'number' || /^\d+$/.test(String(target))) {
    requireLoopback(list[1], 'socket connect');
  }
  return connect.apply(this, args);
};
