package dev.coffer.oci.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.digest.Digest;
import dev.coffer.oci.manifest.Descriptor;
import dev.coffer.oci.manifest.Json;
import dev.coffer.oci.reference.ImageReference;
import dev.coffer.oci.store.BlobStore;
import dev.coffer.oci.store.BlobTamperedException;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One pull's conversation with one registry: base URL, current Authorization, and the request
 * loop (authentication, manual redirects, retries).
 */
final class Session {
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final int MAX_REDIRECTS = 5;
    private static final int MAX_ERROR_BODY = 16 * 1024;
    private static final int MAX_TOKEN_RESPONSE = 1024 * 1024;

    private enum Kind { MANIFEST, BLOB }

    final RegistryClient client;
    private final ImageReference ref;
    private final RegistryCredentials creds;
    private final String registry;
    private final URI base;
    private String authorization;

    Session(RegistryClient client, ImageReference ref, RegistryCredentials creds) {
        this.client = client;
        this.ref = ref;
        this.creds = creds;
        this.registry = ref.registry();
        String host = registry.equals(ImageReference.DOCKER_HUB) ? "registry-1.docker.io" : registry;
        boolean plain = client.options().insecure() || RegistryClient.isLocal(registry);
        this.base = URI.create((plain ? "http://" : "https://") + host + "/v2/");
    }

    RegistryClient.Fetched manifest(String selector, Digest expected) throws IOException {
        URI uri = base.resolve(ref.repository() + "/manifests/" + selector);
        String what = "manifest " + selector + " of " + ref.name();
        int max = client.options().maxAttempts();
        for (int attempt = 1; ; attempt++) {
            HttpResponse<InputStream> r = send(uri, RegistryClient.ACCEPT_MANIFESTS, null, what, Kind.MANIFEST);
            if (r.statusCode() != 200) {
                throw failure(r, what, Kind.MANIFEST, selector);
            }
            byte[] bytes;
            try (InputStream in = RegistryClient.limited(r.body(), 4L * 1024 * 1024)) {
                bytes = in.readAllBytes();
            } catch (IOException e) {
                if (e.getMessage() != null && e.getMessage().startsWith("more than")) {
                    throw new OciException(what + " from " + registry + " is larger than 4 MiB; expected a manifest:"
                            + " the registry serves something else");
                }
                if (attempt >= max) {
                    throw new RegistryException(-1, what + " from " + registry + " was cut off (" + e.getMessage()
                            + ") on each of " + max + " attempts; check the network or registry", e);
                }
                client.backoff(attempt);
                continue;
            }
            long declared = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (declared >= 0 && declared != bytes.length) {
                if (attempt >= max) {
                    throw new RegistryException(-1, what + " from " + registry + " is truncated: received "
                            + bytes.length + " of " + declared + " bytes on each of " + max + " attempts");
                }
                client.backoff(attempt);
                continue;
            }
            Digest actual = Digest.sha256(bytes);
            if (expected != null && !expected.equals(actual)) {
                throw new BlobTamperedException(what + " from " + registry + ": expected content with digest "
                        + expected + ", received content with digest " + actual
                        + "; the registry or a proxy serves wrong data, nothing was stored");
            }
            RegistryClient.checkDigestHeader(r, actual, what + " from " + registry);
            String type = r.headers().firstValue("Content-Type").orElse(null);
            return new RegistryClient.Fetched(bytes, type, actual);
        }
    }

    void downloadBlob(Descriptor d, BlobStore blobs, RegistryClient.Transfer transfer) throws IOException {
        URI uri = base.resolve(ref.repository() + "/blobs/" + d.digest());
        String what = "blob " + d.digest() + " of " + ref + " from registry " + registry;
        int max = client.options().maxAttempts();
        long startDone = transfer.done;
        try (BlobStore.Pending pending = blobs.begin(what)) {
            for (int attempt = 1; ; attempt++) {
                String range = pending.length() > 0 ? "bytes=" + pending.length() + "-" : null;
                HttpResponse<InputStream> r = send(uri, null, range, what, Kind.BLOB);
                int status = r.statusCode();
                if (status == 416 && pending.length() == d.size()) {
                    discard(r);
                    break;
                }
                if (status == 206) {
                    Matcher m = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
                    if (!m.matches() || Long.parseLong(m.group(1)) != pending.length()) {
                        // The server resumed somewhere else: start over rather than splice.
                        discard(r);
                        pending.reset();
                        continue;
                    }
                } else if (status == 200) {
                    if (pending.length() > 0) pending.reset();
                } else {
                    throw failure(r, what, Kind.BLOB, d.digest().toString());
                }
                try (InputStream in = r.body()) {
                    byte[] buf = new byte[64 * 1024];
                    int n;
                    // One byte beyond the declared size is enough to know the blob is wrong.
                    while (pending.length() <= d.size() && (n = in.read(buf, 0,
                            (int) Math.min(buf.length, d.size() + 1 - pending.length()))) > 0) {
                        pending.append(buf, 0, n);
                        transfer.done = startDone + pending.length();
                        transfer.report(transfer.done);
                    }
                } catch (IOException cut) {
                    if (attempt >= max) {
                        throw new RegistryException(-1, what + " is truncated: the transfer broke off after "
                                + pending.length() + " of " + d.size() + " bytes (" + cut.getMessage() + ") on each of "
                                + max + " attempts; check the network or the registry", cut);
                    }
                    client.backoff(attempt);
                    continue;
                }
                if (pending.length() < d.size()) {
                    if (attempt >= max) {
                        throw new RegistryException(-1, what + " is truncated: received " + pending.length() + " of "
                                + d.size() + " bytes on each of " + max + " attempts (resuming with Range requests);"
                                + " the registry or a proxy cuts the transfer, nothing was stored");
                    }
                    client.backoff(attempt);
                    continue;
                }
                break;
            }
            pending.commit(d.digest(), d.size());
        } catch (IOException | RuntimeException e) {
            transfer.done = startDone;
            throw e;
        }
    }

    /**
     * Sends a GET, authenticating when challenged (once per request), following redirects
     * (without credentials to other hosts) and retrying transient failures with backoff.
     */
    private HttpResponse<InputStream> send(URI uri, String accept, String range, String what, Kind kind)
            throws IOException {
        int max = client.options().maxAttempts();
        boolean authenticated = false;
        int redirects = 0;
        URI target = uri;
        for (int attempt = 1; ; ) {
            boolean sameHost = sameOrigin(target, base);
            var b = RegistryClient.request(target, client.options().requestTimeout()).GET();
            if (accept != null) b.header("Accept", accept);
            if (range != null) b.header("Range", range);
            if (authorization != null && sameHost) b.header("Authorization", authorization);
            HttpResponse<InputStream> r;
            try {
                r = client.http().send(b.build(), TimedBody.handler(client.options().requestTimeout(), what));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while talking to registry " + registry);
            } catch (IOException e) {
                if (attempt >= max) {
                    throw new RegistryException(-1, "cannot reach registry " + registry + " at " + base + " ("
                            + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage())
                            + ") after " + max + (max == 1 ? " attempt" : " attempts") + "; check that it runs and the address is right", e);
                }
                client.backoff(attempt++);
                continue;
            }
            int status = r.statusCode();
            if (status == 401 && sameHost && !authenticated) {
                String challenge = r.headers().firstValue("WWW-Authenticate").orElse(null);
                discard(r);
                authenticated = true;
                if (authenticate(AuthChallenge.parse(challenge))) {
                    continue;
                }
                throw unauthorized(what, "");
            }
            if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
                String location = r.headers().firstValue("Location").orElse(null);
                discard(r);
                if (location == null || ++redirects > MAX_REDIRECTS) {
                    throw new RegistryException(status, "registry " + registry + " redirected " + what
                            + (location == null ? " without a Location" : " more than " + MAX_REDIRECTS + " times")
                            + "; the registry is misconfigured");
                }
                target = target.resolve(location);
                continue;
            }
            if (RegistryClient.isTransient(status)) {
                if (attempt >= max) {
                    return r;
                }
                discard(r);
                client.backoff(attempt++, RegistryClient.retryAfterMillis(r));
                continue;
            }
            return r;
        }
    }

    /** Answers a challenge: true if there is now an Authorization worth retrying with. */
    private boolean authenticate(AuthChallenge challenge) throws IOException {
        if (challenge == null) {
            return false;
        }
        if (challenge.isBasic()) {
            if (creds.isAnonymous()) return false;
            authorization = creds.basicHeader();
            return true;
        }
        if (challenge.isBearer()) {
            String realm = challenge.params().get("realm");
            if (realm == null || realm.isEmpty()) {
                throw new RegistryException(401, "registry " + registry + " asked for a bearer token without saying"
                        + " where to get it (no realm); the registry is misconfigured");
            }
            StringBuilder q = new StringBuilder(realm).append(realm.contains("?") ? '&' : '?');
            String service = challenge.params().get("service");
            if (service != null) q.append("service=").append(RegistryClient.urlEncode(service)).append('&');
            String scope = challenge.params().getOrDefault("scope", "repository:" + ref.repository() + ":pull");
            q.append("scope=").append(RegistryClient.urlEncode(scope));
            URI tokenUri;
            try {
                tokenUri = URI.create(q.toString());
            } catch (IllegalArgumentException e) {
                throw new RegistryException(401, "registry " + registry + " named an invalid token service '" + realm
                        + "'; the registry is misconfigured", e);
            }
            if (!creds.isAnonymous() && "http".equalsIgnoreCase(tokenUri.getScheme())
                    && !client.options().insecure() && !RegistryClient.isLocal(tokenUri.getAuthority())) {
                throw new RegistryException(401, "registry " + registry + " sends credentials to the token service "
                        + tokenUri.getScheme() + "://" + tokenUri.getAuthority() + " over plain http; refusing to"
                        + " expose them: use --insecure only if that network is trusted");
            }
            authorization = "Bearer " + fetchToken(tokenUri);
            return true;
        }
        return false;
    }

    private String fetchToken(URI tokenUri) throws IOException {
        int max = client.options().maxAttempts();
        for (int attempt = 1; ; attempt++) {
            var b = RegistryClient.request(tokenUri, client.options().requestTimeout()).GET();
            if (!creds.isAnonymous()) b.header("Authorization", creds.basicHeader());
            HttpResponse<InputStream> r;
            try {
                r = client.http().send(b.build(), TimedBody.handler(client.options().requestTimeout(),
                        "the token of " + registry));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while asking for a registry token");
            } catch (IOException e) {
                if (attempt >= max) {
                    throw new RegistryException(-1, "cannot reach the token service of registry " + registry + " at "
                            + tokenUri.getScheme() + "://" + tokenUri.getAuthority() + " after " + max + " attempts ("
                            + e.getClass().getSimpleName() + "); check the network", e);
                }
                client.backoff(attempt);
                continue;
            }
            int status = r.statusCode();
            if (RegistryClient.isTransient(status) && attempt < max) {
                discard(r);
                client.backoff(attempt);
                continue;
            }
            byte[] body;
            try (InputStream in = RegistryClient.limited(r.body(), MAX_TOKEN_RESPONSE)) {
                body = in.readAllBytes();
            }
            if (status == 401 || status == 403) {
                throw unauthorized("a token for " + ref.name(), "");
            }
            if (status != 200) {
                throw new RegistryException(status, "the token service of registry " + registry + " answered " + status
                        + " (expected 200 with a token); try again later or check the registry");
            }
            JsonNode json;
            try {
                json = Json.read(body, "token response");
            } catch (OciException e) {
                throw new RegistryException(status, "the token service of registry " + registry
                        + " answered without a JSON token; the registry is misconfigured");
            }
            String token = json.hasNonNull("token") ? json.get("token").asText() : json.path("access_token").asText("");
            if (token.isEmpty()) {
                throw new RegistryException(status, "the token service of registry " + registry
                        + " answered without a token; the registry is misconfigured");
            }
            return token;
        }
    }

    private RegistryException unauthorized(String what, String detail) {
        if (creds.isAnonymous()) {
            return new RegistryException(401, "registry " + registry + " requires authentication for " + what
                    + " (401 Unauthorized" + detail + "); expected credentials: pass --credentials FILE (docker"
                    + " config.json format) or set " + RegistryCredentials.ENV_USER + " and "
                    + RegistryCredentials.ENV_PASSWORD);
        }
        return new RegistryException(401, "registry " + registry + " rejected the credentials from " + creds.source()
                + " for " + what + " (401 Unauthorized" + detail + "); check the user name and password");
    }

    private RegistryException failure(HttpResponse<InputStream> r, String what, Kind kind, String selector)
            throws IOException {
        int status = r.statusCode();
        byte[] body;
        try (InputStream in = r.body()) {
            body = in.readNBytes(MAX_ERROR_BODY);
        } catch (IOException e) {
            body = new byte[0];
        }
        String summary = RegistryClient.errorSummary(body);
        String detail = summary.isEmpty() ? "" : ": " + summary;
        return switch (status) {
            case 401 -> unauthorized(what, detail);
            case 403 -> new RegistryException(403, "registry " + registry + " denied access to " + what
                    + " (403 Forbidden" + detail + "); the credentials" + (creds.isAnonymous() ? " (none given)" : " from "
                    + creds.source()) + " lack pull permission for " + ref.repository());
            case 404 -> kind == Kind.MANIFEST
                    ? new RegistryException(404, "image " + ref + " not found: registry " + registry + " has no manifest '"
                    + selector + "' in repository '" + ref.repository() + "' (404" + detail
                    + "); check the repository name and tag")
                    : new RegistryException(404, "registry " + registry + " has no " + what.replace(" from registry "
                    + registry, "") + " (404" + detail + "), though the manifest lists it; the image in the registry"
                    + " is incomplete: push it again");
            default -> RegistryClient.isTransient(status)
                    ? new RegistryException(status, "registry " + registry + " answered " + status + detail + " to GET "
                    + Objects.requireNonNullElse(r.uri().getPath(), "") + " on each of " + client.options().maxAttempts()
                    + " attempts; the registry is failing, try again later")
                    : new RegistryException(status, "registry " + registry + " answered " + status + detail + " to GET "
                    + r.uri().getPath() + "; expected 200");
        };
    }

    private static void discard(HttpResponse<InputStream> r) {
        try (InputStream in = r.body()) {
            in.readNBytes(MAX_ERROR_BODY);
        } catch (IOException ignored) {
            // only draining so the connection can be reused
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return Objects.equals(a.getScheme(), b.getScheme()) && Objects.equals(a.getHost(), b.getHost())
                && a.getPort() == b.getPort();
    }
}
