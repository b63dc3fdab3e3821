// Verifies a Coffer attestation token and a key release JWS as a third party would: with the
// jose library, the issuer's JWKS fetched from its URL, and the issuer name from its discovery
// document. Prints one JSON line: {token: claims, release: {alg, kid}}. Exits 1 on any failure.
import { createRemoteJWKSet, jwtVerify, compactVerify } from 'jose';

const [baseUrl, token, releaseJws] = process.argv.slice(2);
try {
  const discovery = await (await fetch(baseUrl + '/.well-known/openid-configuration')).json();
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer: discovery.issuer,
    algorithms: ['ES256', 'RS256'],
  });
  const out = { token: { alg: protectedHeader.alg, claims: payload } };
  if (releaseJws) {
    const r = await compactVerify(releaseJws, jwks, { algorithms: ['ES256', 'RS256'] });
    const body = JSON.parse(new TextDecoder().decode(r.payload));
    out.release = { alg: r.protectedHeader.alg, kid: body.request.kid };
  }
  console.log(JSON.stringify(out));
} catch (e) {
  console.error('verification failed: ' + e.code + ' ' + e.message);
  process.exit(1);
}
