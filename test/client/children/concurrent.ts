/** Child of exec.test.ts: 50 concurrent getToken calls for one audience, under `wits exec`. */
import { credentials } from '../../../src/client/index.js';

const audience = process.argv[2] ?? 'Storage';
const tokens = await Promise.all(Array.from({ length: 50 }, () => credentials.getToken(audience)));
// And 50 more once cached: still no further request.
const again = await Promise.all(Array.from({ length: 50 }, () => credentials.getToken(audience)));
console.log(JSON.stringify({ count: tokens.length + again.length, distinct: new Set([...tokens, ...again]).size }));
