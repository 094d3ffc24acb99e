// Sends calls through a real tracking client and waits until they are delivered.
// usage: node send.js scenario.json
//   scenario: { "client": "segment" | "rudderstack", "host": "http://127.0.0.1:port", "writeKey": "...",
//               "calls": [ { "method": "track" | "identify" | "page" | "screen" | "alias" | "group", "args": { ... } } ] }
// Every call goes into one batch (flushAt is larger than the number of calls); exits 0 once the batch was acknowledged,
// 2 with the client's errors otherwise.
'use strict';
const fs = require('fs');

async function main() {
  const s = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const errors = [];
  if (s.client === 'segment') {
    const { Analytics } = require('@segment/analytics-node');
    const analytics = new Analytics({
      writeKey: s.writeKey, host: s.host, path: '/v1/batch', flushAt: 1000, flushInterval: 60000, maxRetries: 5,
    });
    analytics.on('error', (e) => errors.push(`${e.code}: ${e.reason && e.reason.message ? e.reason.message : e.reason || e}`));
    for (const c of s.calls) analytics[c.method](c.args);
    await analytics.closeAndFlush({ timeout: 60000 });
  } else if (s.client === 'rudderstack') {
    const Analytics = require('@rudderstack/rudder-sdk-node');
    const client = new Analytics(s.writeKey, {
      dataPlaneUrl: s.host, flushAt: 1000, flushInterval: 60000, retryCount: 5, logLevel: 'error',
      axiosRetryConfig: { retryDelay: () => 200 },
      errorHandler: (e) => errors.push(String(e && e.message ? e.message : e)),
    });
    for (const c of s.calls) client[c.method](c.args);
    await new Promise((resolve) => client.flush((err) => { if (err) errors.push(String(err.message || err)); resolve(); }));
  } else {
    throw new Error(`unknown client ${s.client}`);
  }

  if (errors.length > 0) {
    console.error(errors.join('\n'));
    process.exit(2);
  }
}

main().catch((e) => { console.error(e && e.stack ? e.stack : String(e)); process.exit(3); });
