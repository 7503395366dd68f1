// A real OAuth2 token endpoint for checkd's tests: oauth2-mock-server on 127.0.0.1, with
// client authentication and token lifetimes set from the environment.
//
//   CLIENT_ID, CLIENT_SECRET  the only client it accepts (HTTP Basic or form fields)
//   EXPIRES_IN                token lifetime in seconds (default 3600)
//
// Prints `listening <port>` once it accepts connections, then one line per token request:
// `token <n> <client_id> <scope>` when it issued the n-th token, `refused <client_id>` when
// the client failed to authenticate.
import { OAuth2Server } from 'oauth2-mock-server';

const clientId = process.env.CLIENT_ID ?? '';
const clientSecret = process.env.CLIENT_SECRET ?? '';
const expiresIn = Number(process.env.EXPIRES_IN ?? '3600');

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');

let issued = 0;
server.service.on('beforeTokenSigning', (token) => {
  token.payload.exp = Math.floor(Date.now() / 1000) + expiresIn;
  // Every token differs, even two issued within one second.
  token.payload.jti = `checkd-test-${issued + 1}`;
});

function credentials(req) {
  const header = req.headers.authorization ?? '';
  if (header.startsWith('Basic ')) {
    const pair = Buffer.from(header.slice(6), 'base64').toString();
    const colon = pair.indexOf(':');
    return [decodeURIComponent(pair.slice(0, colon)), decodeURIComponent(pair.slice(colon + 1))];
  }
  return [req.body.client_id, req.body.client_secret];
}

server.service.on('beforeResponse', (response, req) => {
  const [id, secret] = credentials(req);
  if (id !== clientId || secret !== clientSecret) {
    response.statusCode = 401;
    response.body = { error: 'invalid_client' };
    console.log(`refused ${id}`);
    return;
  }
  issued += 1;
  response.body.expires_in = expiresIn;
  console.log(`token ${issued} ${id} ${req.body.scope ?? ''}`);
});

await server.start(0, '127.0.0.1');
const { port } = new URL(server.issuer.url);
console.log(`listening ${port}`);
