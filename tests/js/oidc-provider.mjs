// A real OpenID provider for the portal's tests (oidc-provider), on 127.0.0.1 only.
//
//   node oidc-provider.mjs PORT      (or OIDC_PORT)
//   OIDC_ACCOUNTS  JSON: {"<sub>": {"drfocode": "…", "lastname": "…", …}, …}
//   OIDC_CLIENTS   JSON: [{"client_id", "client_secret", "redirect_uris": [...]}, …]
//
// PKCE is required of every client; the ID token carries the account's claims (as national
// identity brokers do: `drfocode`, `edrpoucode`, `lastname`, `givenname`, `middlename`).
// Sign-in is the library's development interaction, which a test drives over plain HTTP:
// POST /interaction/<uid> with prompt=login&login=<sub>&password=…, then prompt=consent.
// Prints the issuer URL on stdout once it listens.
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node oidc-provider.mjs PORT (or OIDC_PORT)');
  process.exit(2);
}
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]');
const issuer = `http://127.0.0.1:${port}`;

const identity = ['drfocode', 'edrpoucode', 'lastname', 'givenname', 'middlename'];
const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...c,
  })),
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: identity,
    email: ['email'],
  },
  // The claims go into the ID token, not only the userinfo endpoint.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['hromada-tests-only-cookie-key'] },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(issuer);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
