'use strict';
// One whole visitor chat through the third-party CaféX Live Assist bot SDK
// (@cafex/liveassist-botsdk-js, a LivePerson Server Chat API client), against a
// parley server whose demo bot answers as the agent: it greets, then echoes each
// visitor line. Exits 0 and prints one "CAFEX-SDK OK" line, or exits 1 with a
// "CAFEX-SDK FAIL" line naming the step and the last requests.
//
//   PARLEY_PORT=8080 node -r ./loopback.js drive.js
const http = require('http');
const assert = require('assert');

const guard = globalThis[Symbol.for('parley.loopback')];
const PORT = process.env.PARLEY_PORT;
const ACCOUNT = process.env.PARLEY_ACCOUNT || '12345';
const APPKEY = process.env.PARLEY_APPKEY || '721c180b09eb463d9f3191c41762bb68';
const SKILL = process.env.PARLEY_SKILL || 'Sales';
const OVERALL_MS = 60000;
const POLL_MS = 1000;
const VISITOR = 'Vera Visitor';
const HANDOFF = 'Visitor asked the bot for a human';
const LINES = ['Hello from the CaféX SDK', 'Second line: please echo this one too'];

let step = 'start';
const events = []; // every event the SDK handed us, in order
let info = {};
let polls = 0;

function fail(why) {
  const recent = guard ? guard.log.slice(-4) : [];
  console.error(`CAFEX-SDK FAIL at step "${step}": ${why}`);
  for (const r of recent) console.error(`  ${JSON.stringify(r)}`);
  process.exit(1);
}
process.on('uncaughtException', (e) => fail(`uncaught exception: ${e && e.stack ? e.stack : e}`));
process.on('unhandledRejection', (e) => fail(`unhandled rejection: ${e && e.stack ? e.stack : e}`));
setTimeout(() => fail(`not done after ${OVERALL_MS / 1000} s`), OVERALL_MS);

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const states = () => events.filter((e) => e.type === 'state').map((e) => e.state);
const lines = (source) => events.filter((e) => e.type === 'line' && (!source || e.source === source));

// A plain GET to parley, outside the SDK, for the two things the SDK cannot show us.
function getJson(path) {
  return new Promise((resolve, reject) => {
    http.get({ hostname: '127.0.0.1', port: PORT, path }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path} answered ${res.statusCode}: ${body}`));
        try { resolve(JSON.parse(body)); } catch (e) { reject(new Error(`GET ${path}: body is not JSON: ${body}`)); }
      });
    }).on('error', reject);
  });
}

// The SDK leaves polling to its caller; poll like a bot would until `done()` holds.
async function pollUntil(what, chat, done, endOk = false) {
  step = `poll until ${what}`;
  for (;;) {
    const got = await chat.poll();
    // app.js resolves (not rejects) with an error when it has no chat link.
    if (got instanceof Error) fail(`poll() gave an error: ${got.message}`);
    polls += 1;
    events.push(...got.events);
    info = got.info;
    if (done()) return;
    // After the SDK delivered "ended" it refuses further polls.
    if (states().includes('ended') && !endOk) fail(`chat ended early; events: ${JSON.stringify(events)}`);
    await sleep(POLL_MS);
  }
}

async function main() {
  if (!guard) fail('loopback.js is not loaded: run "node -r ./loopback.js drive.js"');

  // The SDK would ask http://api.liveperson.net for the conversationVep domain, which
  // loopback.js refuses. So we make the SDK's exact Domain API call against parley
  // ourselves and give the SDK the answer through its LA_CONVERSATION_DOMAIN setting.
  step = 'Domain API lookup';
  const domain = await getJson(`/api/account/${ACCOUNT}/service/conversationVep/baseURI.json?version=1.0`);
  assert.strictEqual(domain.baseURI, `127.0.0.1:${PORT}`, `Domain API baseURI: ${JSON.stringify(domain)}`);
  // The SDK reads its settings from the environment when it is loaded.
  process.env.LA_CONVERSATION_DOMAIN = domain.baseURI;
  process.env.LA_APP_KEY = APPKEY;
  const { Chat, newTranscript, addTranscriptLine } = require('@cafex/liveassist-botsdk-js');
  const chat = new Chat(ACCOUNT);

  step = 'availability';
  const availability = await chat.getAvailability({ skill: SKILL });
  assert.deepStrictEqual(availability, { availability: true }, `availability: ${JSON.stringify(availability)}`);

  // Chat request, first read of the chat and setting the visitor name: the SDK does
  // all three in requestChat and rejects unless it got 201 + Location, 200, 200.
  step = 'chat request (with visitor name and bot transcript)';
  const transcript = newTranscript();
  addTranscriptLine(transcript, { timestamp: new Date(), srcName: 'HelpBot', isBot: true, line: HANDOFF });
  await chat.requestChat({ skill: SKILL, visitorName: VISITOR, transcript });
  step = 'read back the visitor name';
  const nameLink = JSON.parse(chat.getState().unparsedState).chatLinks.visitorNameLink;
  const name = await getJson(`${new URL(nameLink).pathname}.json?v=1&appKey=${APPKEY}`);
  assert.deepStrictEqual(name, { visitorName: VISITOR }, `visitor name after requestChat: ${JSON.stringify(name)}`);

  await pollUntil('the bot accepts and greets', chat,
    () => states().includes('chatting') && lines('agent').length > 0);
  assert.strictEqual(states()[0], 'waiting', `first state: ${JSON.stringify(states())}`);
  assert.ok(lines('system').length > 0, 'no system line (routing / "now chatting") reached the visitor');
  assert.ok(info.agentName && info.agentName !== 'unknown', `info.agentName: ${JSON.stringify(info)}`);
  const greetings = lines('agent').length;

  for (const text of LINES) {
    step = `add line "${text}"`;
    await chat.addLine(text); // the SDK rejects unless parley answered 201
    const before = lines('agent').length;
    await pollUntil(`the echo of "${text}"`, chat,
      () => lines('agent').slice(before).some((e) => e.text.includes(text)));
    assert.ok(lines('visitor').some((e) => e.text === text), `own line not in the chat: ${JSON.stringify(events)}`);
  }

  step = 'end chat';
  await chat.endChat(); // 201 again
  await pollUntil('the ended state', chat, () => states().includes('ended'), true);
  assert.strictEqual(states()[states().length - 1], 'ended', `states: ${JSON.stringify(states())}`);

  // Pre-chat (transcript) lines are for the agent only (visitor spec §6.2).
  step = 'final checks';
  assert.ok(!events.some((e) => String(e.text).includes(HANDOFF)), 'the agent-only transcript line reached the visitor');

  console.log(`CAFEX-SDK OK: domain=${domain.baseURI} agent=${info.agentName} states=${states().join('>')} ` +
    `greetings=${greetings} echoed=${LINES.length}/${LINES.length} polls=${polls} requests=${guard.log.length}`);
  process.exit(0);
}

main().catch((e) => fail(e && e.message ? e.message : String(e)));
