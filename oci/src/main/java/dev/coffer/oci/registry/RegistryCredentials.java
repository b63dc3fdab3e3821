package dev.coffer.oci.registry;

import com.fasterxml.jackson.databind.JsonNode;
import dev.coffer.oci.OciException;
import dev.coffer.oci.manifest.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;

/**
 * A user name and password for a registry, or none. {@link #toString()} never shows the
 * password, and no message Coffer writes contains it.
 *
 * @param source where they came from ("environment", "file /x/auth.json"), for error messages
 */
public record RegistryCredentials(String username, String password, String source) {
    public static final String ENV_USER = "COFFER_REGISTRY_USER";
    public static final String ENV_PASSWORD = "COFFER_REGISTRY_PASSWORD";
    public static final String ENV_AUTH_FILE = "COFFER_REGISTRY_AUTH_FILE";

    private static final RegistryCredentials ANONYMOUS = new RegistryCredentials(null, null, "none");

    public static RegistryCredentials anonymous() {
        return ANONYMOUS;
    }

    public static RegistryCredentials of(String username, String password) {
        return new RegistryCredentials(username, password, "given");
    }

    public boolean isAnonymous() {
        return username == null;
    }

    /** The value of a Basic Authorization header. */
    String basicHeader() {
        return "Basic " + Base64.getEncoder().encodeToString(
                (username + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Credentials for {@code registry}: from {@code file} (docker config.json {@code auths}
     * format; if null, {@code $COFFER_REGISTRY_AUTH_FILE}), else from
     * {@code COFFER_REGISTRY_USER}/{@code COFFER_REGISTRY_PASSWORD}, else anonymous.
     */
    public static RegistryCredentials resolve(String registry, Path file, Map<String, String> env)
            throws OciException {
        Path authFile = file;
        if (authFile == null && env.get(ENV_AUTH_FILE) != null && !env.get(ENV_AUTH_FILE).isBlank()) {
            authFile = Path.of(env.get(ENV_AUTH_FILE));
        }
        if (authFile != null) {
            RegistryCredentials fromFile = fromFile(authFile, registry);
            if (fromFile != null) return fromFile;
        }
        String user = env.get(ENV_USER);
        String password = env.get(ENV_PASSWORD);
        boolean hasUser = user != null && !user.isEmpty();
        boolean hasPassword = password != null && !password.isEmpty();
        if (hasUser != hasPassword) {
            throw new OciException("expected both " + ENV_USER + " and " + ENV_PASSWORD + " to be set, found only "
                    + (hasUser ? ENV_USER : ENV_PASSWORD) + "; set both or neither");
        }
        return hasUser ? new RegistryCredentials(user, password, "environment " + ENV_USER) : ANONYMOUS;
    }

    private static RegistryCredentials fromFile(Path file, String registry) throws OciException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new OciException("credentials file " + file + " does not exist; expected a docker config.json"
                    + " style file with an 'auths' object");
        } catch (IOException e) {
            throw new OciException("cannot read credentials file " + file + " (" + e.getClass().getSimpleName()
                    + "); check its permissions");
        }
        JsonNode root;
        try {
            root = Json.read(bytes, "credentials file " + file);
        } catch (OciException e) {
            // The parser's message could quote the file's content: keep it out.
            throw new OciException("credentials file " + file + " is not valid JSON; expected a docker config.json"
                    + " style file {\"auths\": {\"host:port\": {\"auth\": \"base64(user:password)\"}}}");
        }
        JsonNode auths = root.get("auths");
        if (auths == null || !auths.isObject()) {
            throw new OciException("credentials file " + file + " has no 'auths' object; expected docker config.json"
                    + " style {\"auths\": {\"host:port\": {\"auth\": \"base64(user:password)\"}}}");
        }
        String want = normalizeHost(registry);
        for (Iterator<Map.Entry<String, JsonNode>> it = auths.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!normalizeHost(e.getKey()).equals(want)) continue;
            JsonNode entry = e.getValue();
            String source = "file " + file;
            if (entry.hasNonNull("auth") && !entry.get("auth").asText().isEmpty()) {
                String decoded;
                try {
                    decoded = new String(Base64.getDecoder().decode(entry.get("auth").asText()), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException bad) {
                    throw new OciException("credentials file " + file + ": the 'auth' of " + e.getKey()
                            + " is not base64; expected base64(user:password)");
                }
                int colon = decoded.indexOf(':');
                if (colon <= 0) {
                    throw new OciException("credentials file " + file + ": the 'auth' of " + e.getKey()
                            + " does not decode to user:password; expected base64(user:password)");
                }
                return new RegistryCredentials(decoded.substring(0, colon), decoded.substring(colon + 1), source);
            }
            if (entry.hasNonNull("username") && entry.hasNonNull("password")) {
                return new RegistryCredentials(entry.get("username").asText(), entry.get("password").asText(), source);
            }
            throw new OciException("credentials file " + file + ": the entry for " + e.getKey()
                    + " has neither 'auth' nor 'username'+'password'; add one of them");
        }
        return null;
    }

    /** "https://index.docker.io/v1/" and "docker.io" name the same registry, as do "http://h:5000" and "h:5000". */
    static String normalizeHost(String key) {
        String k = key.strip();
        int scheme = k.indexOf("://");
        if (scheme >= 0) k = k.substring(scheme + 3);
        int slash = k.indexOf('/');
        if (slash >= 0) k = k.substring(0, slash);
        k = k.toLowerCase(java.util.Locale.ROOT);
        if (k.equals("index.docker.io") || k.equals("registry-1.docker.io")) k = "docker.io";
        return k;
    }

    @Override
    public String toString() {
        return isAnonymous() ? "RegistryCredentials[anonymous]"
                : "RegistryCredentials[user=" + username + ", password=<redacted>, source=" + source + "]";
    }
}
